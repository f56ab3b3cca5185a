// build.js: checks the server's syntax and copies it to dist/.
const fs = require("node:fs");
const { execFileSync } = require("node:child_process");
fs.mkdirSync("dist", { recursive: true });
for (const f of fs.readdirSync("src")) {
  execFileSync(process.execPath, ["--check", `src/${f}`]);
  fs.copyFileSync(`src/${f}`, `dist/${f}`);
}
fs.copyFileSync("package.json", "dist/package.json");
console.log("backend built");
