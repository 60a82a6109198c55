// A small HTTP server on 127.0.0.1 for the vendor fakes (the demo's stand-ins) and engine tests: routes are functions of the request
// (with its parsed URL and body); every request is logged with its arrival time. A route that
// returns { drop: true } closes the connection without answering.
const http = require("node:http");

async function startServer(handler) {
  const log = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const url = new URL(req.url, "http://127.0.0.1");
      const entry = {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        at: Date.now(),
      };
      log.push(entry);
      try {
        const out = (await handler(entry, log)) ?? { status: 404 };
        // A connection dropped without an answer (after the handler may have done its work).
        if (out.drop) {
          req.socket.destroy();
          return;
        }
        res.writeHead(out.status ?? 200, {
          "content-type": out.type ?? "application/json",
          ...(out.headers ?? {}),
        });
        res.end(
          out.body === undefined ? "" : typeof out.body === "string" ? out.body : JSON.stringify(out.body),
        );
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, log, close: () => new Promise((resolve) => server.close(resolve)) };
}

module.exports = { startServer };
