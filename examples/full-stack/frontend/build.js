// build.js: copies src/ to dist/ and writes the API address into config.js.
const fs = require("node:fs");
fs.mkdirSync("dist", { recursive: true });
for (const f of fs.readdirSync("src")) fs.copyFileSync(`src/${f}`, `dist/${f}`);
fs.writeFileSync("dist/config.js", `window.API = ${JSON.stringify(process.env.API_URL || "/api")};\n`);
console.log("frontend built");
