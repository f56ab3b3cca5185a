// build.js: the "npm run build" of the example. Copies src/ to dist/, strips
// comment lines from the JavaScript and stamps the build time into the page.
const fs = require("node:fs");
const path = require("node:path");

const src = path.join(__dirname, "src");
const dist = path.join(__dirname, "dist");
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

const stamp = new Date().toISOString();
for (const name of fs.readdirSync(src)) {
  let text = fs.readFileSync(path.join(src, name), "utf8");
  if (name.endsWith(".js")) {
    text = text.split("\n").filter((l) => !l.trim().startsWith("//")).join("\n");
  }
  if (name.endsWith(".html")) {
    text = text.replace("<script src=", `<script>window.BUILD_TIME = "${stamp}";</script>\n  <script src=`);
  }
  fs.writeFileSync(path.join(dist, name), text);
}
console.log(`built ${fs.readdirSync(dist).length} files into dist/`);
