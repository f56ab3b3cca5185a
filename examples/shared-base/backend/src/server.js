// A tiny API server: GET /api/health answers {"ok":true}.
const http = require("node:http");
const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => {
    if (req.url === "/api/health") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"ok":true}\n');
    }
    res.writeHead(404).end();
  })
  .listen(port, () => console.log(`backend listening on ${port}`));
