// A redis-server of the test's own on 127.0.0.1 (Debian's redis-server; .ci/run installs it),
// in a temporary directory, without persistence unless asked. stop() and start() again on the
// same port is a Redis restart, as the scale-out tests need.
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const net = require("node:net");
const { freePort } = require("./ports");

const BIN = process.env.REDIS_SERVER || "/usr/bin/redis-server";

function ping(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    s.on("data", (d) => {
      out += d;
      if (out.includes("\r\n")) {
        s.destroy();
        resolve(out.startsWith("+PONG"));
      }
    });
    s.on("error", () => resolve(false));
    s.write("PING\r\n");
  });
}

async function startRedis({ port, persist = false } = {}) {
  if (!fs.existsSync(BIN))
    throw new Error(`${BIN} is missing: apt-get install -y redis-server (.ci/run does)`);
  port = port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", persist ? "1 1" : ""];
  if (persist) args.push("--appendonly", "yes");
  let proc;
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    async start() {
      proc = spawn(BIN, args, { stdio: "ignore" });
      for (let i = 0; i < 100; i++) {
        if (await ping(port)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`redis-server did not start on port ${port}`);
    },
    /** Stops the server (SIGKILL when hard, as a crash is). */
    async stop(hard = false) {
      if (!proc || proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill(hard ? "SIGKILL" : "SIGTERM");
      await gone;
    },
    async close() {
      await redis.stop(true);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}

module.exports = { startRedis };
