// `npm start` (= build, then scripts/start.js): Node-RED on 127.0.0.1 with this package from
// the source tree, a user directory created on first start with a credential secret.
const assert = require("node:assert/strict");
const { assertPackageLoaded } = require("../support/package-loaded");
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
    await waitUntil(
      () =>
        fetch(`${base}/settings`).then(
          (r) => r.ok,
          () => false,
        ),
      "Node-RED to start",
      60000,
      250,
    );
  }

  async function stop() {
    const exited = new Promise((resolve) => red.once("exit", resolve));
    red.kill("SIGINT");
    await exited;
  }

  after(() => process.env.PW_KEEP || fs.rmSync(path.dirname(userDir), { recursive: true, force: true }));

  it("is the build followed by the start script", function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    assert.equal(pkg.scripts.start, "npm run build && node scripts/start.js");
  });

  it("creates the user directory with a credential secret and serves the editor on 127.0.0.1", async function () {
    await start();
    const settings = fs.readFileSync(path.join(userDir, "settings.js"), "utf8");
    assert.match(settings, /credentialSecret: process\.env\.PW_CREDENTIAL_SECRET \|\| "[0-9a-f]{64}"/);
    assert.match(output, /Server now running at http:\/\/127\.0\.0\.1:/);
    await assertPackageLoaded(base);
    assert.equal((await fetch(`${base}/`)).status, 200, "the editor");
  });

  it("keeps flow and global variables on disk by default, with the memory store available by name", async function () {
    const settings = fs.readFileSync(path.join(userDir, "settings.js"), "utf8");
    assert.match(settings, /default: \{ module: "localfilesystem" \}/);
    const editorSettings = await (await fetch(`${base}/settings`)).json();
    assert.deepEqual(editorSettings.context, { default: "default", stores: ["default", "memory"] });
  });

  it("keeps flows, encrypted secrets, runs and queued runs across a restart", async function () {
    const flows = [
      { id: "s1", type: "tab", label: "Kept" },
      {
        id: "s2",
        type: "pw-trigger",
        z: "s1",
        name: "hook",
        schedules: [],
        webhook: true,
        path: "/kept",
        auth: "token-header",
        tokenName: "x-token",
        credentials: { secret: "restart-secret" },
        x: 100,
        y: 100,
        wires: [],
      },
      {
        id: "s3",
        type: "pw-trigger",
        z: "s1",
        name: "slow hook",
        schedules: [],
        webhook: true,
        path: "/slowq",
        methods: "POST",
        concurrency: 1,
        x: 100,
        y: 200,
        wires: [["s4"]],
      },
      {
        id: "s4",
        type: "delay",
        z: "s1",
        pauseType: "delay",
        timeout: "3",
        timeoutUnits: "seconds",
        rate: "1",
        nbRateUnits: "1",
        rateUnits: "second",
        randomFirst: "1",
        randomLast: "5",
        randomUnits: "seconds",
        drop: false,
        x: 300,
        y: 200,
        wires: [[]],
      },
    ];
    const api = (route, init) => fetch(`${base}${route}`, init).then((r) => r.json());
    const res = await fetch(`${base}/flows`, {
      method: "POST",
      headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
    });
    assert.equal(res.status, 204);
    const stored = fs.readFileSync(path.join(userDir, "flows_cred.json"), "utf8");
    assert.ok(!stored.includes("restart-secret"));
    await waitUntil(
      () =>
        fetch(`${base}/kept`, { headers: { "x-token": "restart-secret" } }).then(
          (r) => r.status === 200,
          () => false,
        ),
      "the webhook",
    );
    const post = (n) =>
      fetch(`${base}/slowq`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ n }),
      });
    assert.equal((await post(1)).status, 200);
    assert.equal((await post(2)).status, 200);
    const queued = await waitUntil(async () => (await api("/pw/runs?status=queued")).runs[0], "a queued run");
    const keptRun = (await api("/pw/runs?trigger=s2")).runs[0];
    assert.ok(keptRun, "the /kept run is listed");
    await new Promise((r) => setTimeout(r, 300)); // the queue file is written shortly after a change

    await stop();
    await start();
    assert.ok(!/Encrypted credentials not found|Error loading credentials/.test(output), output);
    await waitUntil(
      () =>
        fetch(`${base}/kept`, { headers: { "x-token": "restart-secret" } }).then(
          (r) => r.status === 200,
          () => false,
        ),
      "the webhook after restart",
    );
    assert.equal((await fetch(`${base}/kept`, { headers: { "x-token": "wrong" } })).status, 401);
    assert.equal((await api(`/pw/runs/${keptRun.id}`)).run.status, "succeeded", "runs survive a restart");
    const interrupted = (await api("/pw/runs?trigger=s3&status=failed")).runs;
    assert.ok(interrupted.some((r) => /Node-RED stopped while the run was in progress/.test(r.reason)));
    const after = await waitUntil(
      async () => {
        const r = (await api(`/pw/runs/${queued.id}`)).run;
        return r.status === "running" && r;
      },
      "the queued run to start after the restart",
      10000,
      100,
    );
    assert.equal(after.queuedAt !== undefined, true);
    assert.equal(JSON.parse(after.input.payloadJson).n, 2);
    await stop();
  });
});
