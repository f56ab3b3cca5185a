// build.js: renders src/index.html with a greeting from the greet package.
const fs = require("node:fs");
const greet = require("greet");
fs.mkdirSync("dist", { recursive: true });
const page = fs.readFileSync("src/index.html", "utf8").replace("{{greeting}}", greet("cache mounts"));
fs.writeFileSync("dist/index.html", page);
console.log("built dist/index.html");
