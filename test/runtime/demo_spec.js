// `npm run demo` as a newcomer runs it (scripts/demo.js after the build): Node-RED answers,
// the stand-ins serve their pages, one demo instance per stand-in is in the editor with its
// credentials encrypted (never in the flows), each passes Test connection, and a restart reuses
// the same instances (pointed at the stand-ins' new ports) instead of adding more.
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { freePort } = require("../support/ports");
const { waitUntil } = require("../support/wait");

const ROOT = path.join(__dirname, "..", "..");
const SYSTEMS = ["TikTok Shop", "Shopify", "HubSpot", "Klaviyo", "WooCommerce", "NetSuite"];

describe("npm run demo", function () {
  this.timeout(90000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-demo-"));
  let port;
  let demo;
  let output = "";
  const editor = () => `http://127.0.0.1:${port}`;

  async function start() {
    output = "";
    demo = spawn(process.execPath, [path.join(ROOT, "scripts", "demo.js")], {
      cwd: ROOT,
      // Any free ports for the stand-ins: the restart below then proves the instances follow them.
      env: { ...process.env, PORT: String(port), PW_DEMO_DIR: dir, PW_DEMO_PORT_BASE: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    demo.stdout.on("data", (d) => (output += d));
    demo.stderr.on("data", (d) => (output += d));
    await waitUntil(
      () => /Patchworks demo ready/.test(output) || demo.exitCode !== null,
      "the demo",
      60000,
      100,
    );
    assert.match(output, /Patchworks demo ready/, output);
  }
  async function stop() {
    if (!demo || demo.exitCode !== null) return;
    const gone = new Promise((r) => demo.once("exit", r));
    demo.kill("SIGTERM");
    await gone;
  }
  const pages = () =>
    [...output.matchAll(/^\s+(.+?)\s+(http:\/\/127\.0\.0\.1:\d+\/_demo)$/gm)].map((m) => [m[1], m[2]]);
  const flows = async () => (await fetch(`${editor()}/flows`)).json();
  const instances = async () => (await flows()).filter((n) => n.type === "pw-instance");
  const testConnection = async (n) =>
    (
      await fetch(`${editor()}/pw/instances/test`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          id: n.id,
          connector: n.connector,
          vars: n.vars,
          secretSlots: n.secretSlots,
          auth: n.auth,
          // What the dialog sends for a secret left as saved.
          secrets: Object.fromEntries(Object.keys(n.secretSlots).map((k) => [k, "__PWRD__"])),
        }),
      })
    ).json();

  before(async () => {
    port = await freePort();
    await start();
  });
  after(async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let first;
  it("starts Node-RED with one demo instance per stand-in, credentials kept out of the flows", async function () {
    assert.equal((await fetch(editor())).status, 200, "the editor answers");
    first = await instances();
    assert.deepEqual(
      first.map((n) => n.name),
      SYSTEMS.map((s) => `Demo ${s}`),
    );
    const all = JSON.stringify(await flows());
    for (const secret of [
      "shpat_demo_token",
      "demo_access_token",
      "pat-demo-token",
      "pk_demo_key",
      "cs_demo_secret",
    ])
      assert.ok(!all.includes(secret), `${secret} is not in the flows`);
    const cred = fs.readFileSync(path.join(dir, "flows_cred.json"), "utf8");
    assert.ok(!cred.includes("shpat_demo_token"), "credentials are encrypted on disk");
    assert.ok((await flows()).some((n) => n.type === "comment" && /Marketplace/.test(n.name)));
  });

  it("passes Test connection on every demo instance", async function () {
    for (const n of first) {
      const answer = await testConnection(n);
      assert.equal(answer.ok, true, `${n.name}: ${answer.message}`);
    }
  });

  it("serves each stand-in's records on a read-only page", async function () {
    assert.deepEqual(
      pages().map(([name]) => name),
      SYSTEMS,
    );
    const tiktok = await (await fetch(pages()[0][1])).text();
    assert.match(tiktok, /<h2>Orders <small>\(8\)<\/small><\/h2>/);
    assert.match(tiktok, /amelia\.hughes@example\.co\.uk/);
    const shopify = await fetch(pages()[1][1]);
    assert.match(shopify.headers.get("content-type"), /text\/html/);
    assert.match(await shopify.text(), /Orders created <small>\(0\)/);
  });

  it("runs the TikTok Shop blueprint installed on its instances: every demo order arrives in the Shopify stand-in", async function () {
    // What the Marketplace wizard does: the install plan with the demo instances chosen, then
    // the tab enabled and a deploy; then the trigger's button.
    const current = await flows();
    const existing = current
      .filter((n) => n.type === "pw-instance")
      .map((n) => ({ id: n.id, connector: n.connector, name: n.name }));
    const byConnector = Object.fromEntries(existing.map((e) => [e.connector, e.id]));
    const plan = await (
      await fetch(`${editor()}/pw/marketplace/blueprints/tiktok-orders-to-shopify/install`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          choices: { "tiktok-shop": byConnector["tiktok-shop"], shopify: byConnector.shopify },
          existing,
          tabLabels: current.filter((n) => n.type === "tab").map((n) => n.label),
        }),
      })
    ).json();
    assert.ok(
      plan.instances.every((i) => !i.created),
      "the demo instances are used, none added",
    );
    for (const tab of plan.nodes.filter((n) => n.type === "tab")) tab.disabled = false;
    const rev = (
      await (await fetch(`${editor()}/flows`, { headers: { "node-red-api-version": "v2" } })).json()
    ).rev;
    const deployed = await fetch(`${editor()}/flows`, {
      method: "POST",
      headers: { "content-type": "application/json", "node-red-api-version": "v2" },
      body: JSON.stringify({ rev, flows: [...current, ...plan.nodes] }),
    });
    assert.equal(deployed.status, 200, await deployed.text());
    const trigger = plan.nodes.find((n) => n.type === "pw-trigger" && !n.webhook);
    // The deploy has answered; the new flows may still be starting.
    let answer;
    const press = () =>
      waitUntil(
        async () => {
          answer = await (await fetch(`${editor()}/pw/trigger/${trigger.id}`, { method: "POST" })).json();
          return answer.run ? answer : undefined;
        },
        "the trigger to start a run",
        15000,
        100,
      ).catch((err) => assert.fail(`${err.message}: ${JSON.stringify(answer)}`));
    const started = await press();
    const run = await waitUntil(
      async () => {
        const r = (await (await fetch(`${editor()}/pw/runs/${started.run.id}`)).json()).run;
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      "the run to end",
      30000,
      100,
    );
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    const shopify = await (await fetch(pages()[1][1])).text();
    assert.match(shopify, /Orders created <small>\(8\)/, "every demo order arrived");
    assert.match(shopify, /amelia\.hughes@example\.co\.uk/);
    assert.match(shopify, /TikTok Shop/);
    // A second press creates nothing twice.
    const again = await press();
    await waitUntil(
      async () => {
        const r = (await (await fetch(`${editor()}/pw/runs/${again.run.id}`)).json()).run;
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      "the second run to end",
      30000,
      100,
    );
    assert.match(await (await fetch(pages()[1][1])).text(), /Orders created <small>\(8\)/);
  });

  it("reuses its instances after a restart, pointed at the stand-ins' new ports", async function () {
    const before = pages();
    await stop();
    await start();
    const again = await instances();
    assert.deepEqual(
      again.map((n) => n.id),
      first.map((n) => n.id),
    );
    assert.notDeepEqual(pages(), before, "the stand-ins came back on other ports");
    const hubspot = again.find((n) => n.connector === "hubspot");
    assert.equal(hubspot.vars.baseUrl, pages()[2][1].replace(/\/_demo$/, ""));
    for (const n of again) assert.equal((await testConnection(n)).ok, true, n.name);
  });
});
