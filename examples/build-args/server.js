// Prints how the image was built: NODE_ENV, the node version, the app version.
const fs = require("node:fs");
const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim() : "-");
console.log(`env=${process.env.NODE_ENV} node=${process.version} version=${read("/app/VERSION")}`);
