// `npm start` (= build, then scripts/start.js): Node-RED on 127.0.0.1 with this package from
// the source tree, a user directory created on first start with a credential secret.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { root } = require("../support/dist");
const { waitUntil } = require("../support/wait");
const { freePort } = require("../support/ports");

describe("npm start", function () {
  this.timeout(90000);
  const userDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pw-start-")), "user");
  let red;
  let base;
  let output = "";

  async function start() {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    output = "";
    red = spawn(process.execPath, [path.join(root, "scripts", "start.js")], {
      cwd: root,
      env: { ...process.env, PORT: String(port), PW_USER_DIR: userDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    red.stdout.on("data", (d) => (output += d));
    red.stderr.on("data", (d) => (output += d));
    await waitUntil(() => fetch(`${base}/settings`).then((r) => r.ok, () => false), "Node-RED to start", 60000, 250);
  }

  async function stop() {
    const exited = new Promise((resolve) => red.once("exit", resolve));
    red.kill("SIGINT");
    await exited;
  }

  after(() => fs.rmSync(path.dirname(userDir), { recursive: true, force: true }));

  it("is the build followed by the start script", function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    assert.equal(pkg.scripts.start, "npm run build && node scripts/start.js");
  });

  it("creates the user directory with a credential secret and serves the editor on 127.0.0.1", async function () {
    await start();
    const settings = fs.readFileSync(path.join(userDir, "settings.js"), "utf8");
    assert.match(settings, /credentialSecret: process\.env\.PW_CREDENTIAL_SECRET \|\| "[0-9a-f]{64}"/);
    assert.match(output, /Server now running at http:\/\/127\.0\.0\.1:/);
    const sets = await (await fetch(`${base}/nodes`, { headers: { accept: "application/json" } })).json();
    const ours = sets.filter((s) => s.module === "node-red-contrib-patchworks");
    assert.equal(ours.length, 5);
    const plugins = await (await fetch(`${base}/plugins`, { headers: { accept: "application/json" } })).json();
    assert.ok(plugins.some((p) => p.module === "node-red-contrib-patchworks" && p.plugins.some((x) => x.id === "pw-runs") && !p.err), "the runs plugin loads");
    assert.ok(ours.every((s) => !s.err));
    assert.equal((await fetch(`${base}/`)).status, 200, "the editor");
  });

  it("encrypts credentials and keeps flows and secret across a restart", async function () {
    const flows = [
      { id: "s1", type: "tab", label: "Kept" },
      { id: "s2", type: "pw-trigger", z: "s1", name: "hook", schedules: [], webhook: true, path: "/kept", auth: "token-header", tokenName: "x-token", credentials: { secret: "restart-secret" }, wires: [] },
    ];
    const res = await fetch(`${base}/flows`, { method: "POST", headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" }, body: JSON.stringify(flows) });
    assert.equal(res.status, 204);
    const stored = fs.readFileSync(path.join(userDir, "flows_cred.json"), "utf8");
    assert.ok(!stored.includes("restart-secret"));
    await stop();
    await start();
    assert.ok(!/Encrypted credentials not found|Error loading credentials/.test(output), output);
    await waitUntil(() => fetch(`${base}/kept`, { headers: { "x-token": "restart-secret" } }).then((r) => r.status === 200, () => false), "the webhook after restart");
    assert.equal((await fetch(`${base}/kept`, { headers: { "x-token": "wrong" } })).status, 401);
    await stop();
  });
});
