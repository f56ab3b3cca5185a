// Answers with the content type of a file name, from nginx's mime.types
// (copied straight out of the nginx image), and says which tools built it.
const fs = require("node:fs");
const types = {};
for (const m of fs.readFileSync("/app/mime.types", "utf8").matchAll(/^\s*([\w.+-]+\/[\w.+-]+)\s+([^;]+);/gm)) {
  for (const ext of m[2].trim().split(/\s+/)) types[ext] = m[1];
}
const name = process.argv[2] || "index.html";
console.log(`${name}: ${types[name.split(".").pop()] || "application/octet-stream"}`);
if (fs.existsSync("/app/BUILD_INFO")) console.log(fs.readFileSync("/app/BUILD_INFO", "utf8").trim());
