// build.js: lints src/ with the dev dependency check-lite, then copies it to dist/.
const fs = require("node:fs");
const path = require("node:path");
const check = require("check-lite");

fs.mkdirSync("dist", { recursive: true });
let problems = [];
for (const name of fs.readdirSync("src")) {
  const text = fs.readFileSync(path.join("src", name), "utf8");
  problems = problems.concat(check(name, text));
  fs.writeFileSync(path.join("dist", name), text);
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("built dist/ (lint clean)");
