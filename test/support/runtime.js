// A real Node-RED runtime (with @node-red/editor-api) on 127.0.0.1, loading this package
// from the repository as `npm start` does. One per mocha process: RED is a singleton.
const fs = require("fs");
const os = require("os");
const path = require("path");
const http = require("http");
const { root } = require("./dist");
const { waitUntil } = require("./wait");

async function startRuntime(extraSettings = {}) {
  const RED = require("node-red");
  const express = require("express");
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-runtime-"));
  const app = express();
  const server = http.createServer(app);
  const logs = [];
  const nodeRoot = extraSettings.httpNodeRoot ?? "/hooks";
  RED.init(server, {
    userDir,
    credentialSecret: "test-secret-for-runtime",
    nodesDir: [root],
    httpAdminRoot: "/",
    httpNodeRoot: "/hooks",
    uiHost: "127.0.0.1",
    flowFile: "flows.json",
    telemetry: { enabled: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: {
      console: { level: "off" },
      capture: { level: "trace", metrics: false, audit: false, handler: () => (msg) => logs.push(msg) },
    },
    ...extraSettings,
  });
  app.use("/", RED.httpAdmin);
  app.use(nodeRoot, RED.httpNode);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  await RED.start();
  const url = `http://127.0.0.1:${server.address().port}`;

  async function api(method, route, body, headers = {}) {
    const res = await fetch(url + route, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /**
   * Deploys a whole flow set (credentials inline on nodes, as the editor sends them) and
   * waits until every node exists (disabled ones never do): `flows:started` has been seen to
   * fire before they do.
   */
  async function deploy(input) {
    // Node-RED treats a node without x/y as a config node, and its rewiring on redeploy then
    // fails; flows from the editor always have them, so test flows get them too.
    const flows = input.map((n) =>
      Array.isArray(n.wires) && n.x === undefined ? { ...n, x: 100, y: 100 } : n,
    );
    // Nodes of the previous deploy may share ids with the new ones: wait for new instances.
    const before = new Map(flows.map((n) => [n.id, RED.nodes.getNode(n.id)]));
    const res = await api("POST", "/flows", flows, { "Node-RED-Deployment-Type": "full" });
    if (res.status !== 200 && res.status !== 204) throw new Error(`deploy failed: ${res.status} ${res.text}`);
    // Nodes inside a subflow definition only exist per instance, under other ids, and
    // getNode does not return subflow instances themselves.
    const subflows = new Set(flows.filter((n) => n.type === "subflow").map((n) => n.id));
    const ids = flows
      .filter(
        (n) =>
          n.type !== "tab" &&
          n.type !== "subflow" &&
          !n.type.startsWith("subflow:") &&
          !subflows.has(n.z) &&
          n.d !== true,
      )
      .map((n) => n.id);
    try {
      await waitUntil(
        () =>
          ids.every((id) => {
            const n = RED.nodes.getNode(id);
            return n && n !== before.get(id);
          }),
        "deployed nodes to start",
      );
    } catch (err) {
      const missing = ids.filter((id) => !RED.nodes.getNode(id) || RED.nodes.getNode(id) === before.get(id));
      const recent = logs
        .filter((l) => l.level <= 30 || missing.some((id) => String(l.msg).includes(id)))
        .slice(-8)
        .map((l) => l.msg)
        .join(" | ");
      throw new Error(`${err.message}: missing ${missing.join(", ")}; recent log: ${recent}`, { cause: err });
    }
    return res;
  }

  async function stop() {
    await RED.stop();
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
    fs.rmSync(userDir, { recursive: true, force: true });
  }

  return { RED, url, hooks: url + nodeRoot.replace(/\/$/, ""), userDir, logs, api, deploy, stop };
}

module.exports = { startRuntime };
