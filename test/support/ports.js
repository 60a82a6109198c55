const net = require("node:net");

/** A TCP port on 127.0.0.1 that was free a moment ago, for processes that need a fixed port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net
      .createServer()
      .once("error", reject)
      .listen(0, "127.0.0.1", () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
  });
}

module.exports = { freePort };
