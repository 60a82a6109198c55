// A small HTTP server on 127.0.0.1 for the vendor fakes (the demo's stand-ins) and engine tests: routes are functions of the request
// (with its parsed URL and body); every request is logged with its arrival time. A route that
// returns { drop: true } closes the connection without answering.
//
// For the demo: `listenNextOn(port)` makes the next server listen on a fixed port (so instances
// saved in the demo's flows keep pointing at their stand-in across restarts), and
// `showRecords(base, read)` gives a server a read-only page at /_demo listing what it holds.
const http = require("node:http");
const { renderRecordsPage } = require("./records-page");

let plannedPort = 0;
const pages = new Map();

function listenNextOn(port) {
  plannedPort = port;
}

function showRecords(base, read) {
  pages.set(base, read);
}

async function startServer(handler) {
  const log = [];
  let base;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const url = new URL(req.url, "http://127.0.0.1");
      // The demo page is the stand-in's, not the vendor's: not logged, no auth.
      if (req.method === "GET" && url.pathname === "/_demo" && pages.has(base)) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        res.end(renderRecordsPage(pages.get(base)()));
        return;
      }
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
  const port = plannedPort;
  plannedPort = 0;
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  const close = () => {
    pages.delete(base);
    // Keep-alive sockets of a client would hold close() open; a stand-in ends them.
    server.closeAllConnections?.();
    return new Promise((resolve) => server.close(resolve));
  };
  return { base, log, close };
}

module.exports = { startServer, listenNextOn, showRecords };
