// The package loaded into a real Node-RED the way `npm start` loads it (admin and node APIs
// on one root), and the trigger's manual route, webhook and event input end to end.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

const MODULE = "node-red-contrib-patchworks";
const { SHAPES: TYPES, CONFIG_NODES } = require("../support/package-types");

describe("package in a real runtime", function () {
  let rt;
  const seen = [];
  before(async () => (rt = await startRuntime({ httpNodeRoot: "/", functionGlobalContext: { seen } })));
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  it("loads every node set without errors, in palette category patchworks", async function () {
    const sets = (await rt.api("GET", "/nodes", undefined, { accept: "application/json" })).json.filter(
      (s) => s.module === MODULE,
    );
    assert.deepEqual(sets.map((s) => s.types[0]).sort(), [...TYPES, ...CONFIG_NODES].sort());
    for (const set of sets) assert.equal(set.err, undefined, `${set.id}: ${set.err}`);
    const html = (await rt.api("GET", "/nodes", undefined, { accept: "text/html" })).text;
    for (const config of CONFIG_NODES) {
      assert.match(
        html,
        new RegExp(`registerType\\("${config}", \\{\\s*category: "config"`),
        `${config} is a config node`,
      );
      assert.match(html, new RegExp(`data-help-name="${config}"`));
    }
    for (const type of TYPES) {
      assert.match(
        html,
        new RegExp(`registerType\\("${type}", \\{\\s*category: "patchworks"`),
        `${type} in category patchworks`,
      );
      assert.match(html, new RegExp(`data-help-name="${type}"`), `${type} has help`);
    }
  });

  it("serves icons, message catalogs and the examples", async function () {
    const icons = (await rt.api("GET", "/icons")).json[MODULE];
    // An icon per shape, and the Marketplace sidebar's own.
    assert.deepEqual(icons.sort(), [...TYPES, "pw-marketplace"].map((t) => `${t}.svg`).sort());
    assert.equal((await rt.api("GET", `/icons/${MODULE}/pw-trigger.svg`)).status, 200);
    const catalog = (await rt.api("GET", `/nodes/${MODULE}/pw-trigger/messages?lng=en-US`)).json;
    assert.equal(catalog["pw-trigger"].auth.shopify, "Shopify signature (X-Shopify-Hmac-Sha256)");
    const examples = (await rt.api("GET", `/library/examples/flows/${MODULE}`)).json;
    assert.deepEqual(examples, ["Blueprints", "Getting started"]);
    const inFolder = (await rt.api("GET", `/library/examples/flows/${MODULE}/Getting%20started`)).json;
    assert.ok(inFolder.some((e) => e.fn === "Schedule, payload and variables"));
  });

  it("deploys an example and runs it from the manual route", async function () {
    const example = (
      await rt.api(
        "GET",
        `/library/examples/flows/${MODULE}/Getting%20started/Schedule,%20payload%20and%20variables`,
      )
    ).json;
    const flow = [
      { id: "ex", type: "tab", label: "Example" },
      ...example.filter((n) => n.type !== "tab").map((n) => ({ ...n, z: "ex" })),
    ];
    const debug = flow.find((n) => n.type === "debug");
    Object.assign(debug, {
      type: "function",
      func: "global.get('seen').push(msg); return null;",
      outputs: 0,
    });
    await rt.deploy(flow);
    const trigger = flow.find((n) => n.type === "pw-trigger");
    const res = await rt.api("POST", `/pw/trigger/${trigger.id}`);
    assert.equal(res.status, 200);
    await waitUntil(() => seen.length === 1, "the example's run");
    assert.equal(seen[0].pw.run.id, res.json.run.id);
    assert.equal(seen[0].pw.meta.firstOrder, "1001");
    assert.equal(seen[0].payload.length, 2);
  });

  it("runs the filter, route and batch example end to end", async function () {
    const example = (
      await rt.api(
        "GET",
        `/library/examples/flows/${MODULE}/Getting%20started/Filter,%20route%20and%20batch%20orders`,
      )
    ).json;
    const flow = [
      { id: "ex2", type: "tab", label: "Example 2" },
      ...example.filter((n) => n.type !== "tab").map((n) => ({ ...n, z: "ex2" })),
    ];
    for (const debug of flow.filter((n) => n.type === "debug")) {
      Object.assign(debug, {
        type: "function",
        func: `global.get('seen').push({ at: ${JSON.stringify(debug.name)}, ids: msg.payload.map((o) => o.id), batch: msg.pw.batch }); return null;`,
        outputs: 0,
      });
    }
    await rt.deploy(flow);
    seen.length = 0;
    const trigger = flow.find((n) => n.type === "pw-trigger");
    assert.equal((await rt.api("POST", `/pw/trigger/${trigger.id}`)).status, 200);
    await waitUntil(() => seen.length === 4, "four messages at the debug nodes");
    const at = (name) => seen.filter((s) => s.at === name);
    assert.deepEqual(
      at("not paid").map((s) => s.ids),
      [[3]],
    );
    assert.deepEqual(
      at("UK batch").map((s) => [s.ids, s.batch]),
      [[[1, 4], { index: 0, count: 1 }]],
    );
    assert.deepEqual(
      at("over 100").map((s) => s.ids),
      [[2]],
    );
    assert.deepEqual(
      at("otherwise").map((s) => s.ids),
      [[5]],
    );
  });

  describe("manual route", function () {
    const tab = { id: "m", type: "tab", label: "Manual" };
    const trigger = {
      id: "mt1",
      type: "pw-trigger",
      z: "m",
      name: "by hand",
      schedules: [],
      wires: [["msink"]],
    };
    const sink = {
      id: "msink",
      type: "function",
      z: "m",
      func: "global.get('seen').push(msg); return null;",
      outputs: 0,
      wires: [],
    };
    before(() => rt.deploy([tab, trigger, sink]));

    it("starts a run initialised with the JSON body", async function () {
      const res = await rt.api("POST", "/pw/trigger/mt1", { orders: [1001, 1002] });
      assert.equal(res.status, 200);
      await waitUntil(() => seen.length === 1, "the run");
      assert.deepEqual(seen[0].payload, { orders: [1001, 1002] });
      assert.deepEqual(res.json.run, seen[0].pw.run);
    });

    it("answers bad requests in JSON: unknown node 404, malformed JSON 400", async function () {
      const missing = await rt.api("POST", "/pw/trigger/0123456789abcdef");
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error, "not_found");
      const bad = await rt.api("POST", "/pw/trigger/mt1", "{not json");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error, "bad_request");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(seen.length, 0);
    });
  });

  it("checks webhook signatures when admin and node APIs share the root path", async function () {
    const secret = "shpss_root_secret";
    await rt.deploy([
      { id: "w", type: "tab", label: "Hooks" },
      {
        id: "wt1",
        type: "pw-trigger",
        z: "w",
        name: "orders",
        schedules: [],
        webhook: true,
        path: "/orders",
        auth: "shopify",
        methods: "POST",
        credentials: { secret },
        wires: [["wsink"]],
      },
      {
        id: "wt2",
        type: "pw-trigger",
        z: "w",
        name: "per shop",
        schedules: [],
        webhook: true,
        path: "/shops/:shop/orders",
        auth: "shopify",
        methods: "POST",
        credentials: { secret },
        wires: [["wsink"]],
      },
      {
        id: "wsink",
        type: "function",
        z: "w",
        func: "global.get('seen').push(msg); return null;",
        outputs: 0,
        wires: [],
      },
    ]);
    const body = '{"id":1,"note":"spaces   kept"}';
    const sig = crypto.createHmac("sha256", secret).update(body).digest("base64");
    const ok = await fetch(`${rt.url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-shopify-hmac-sha256": sig },
      body,
    });
    assert.equal(ok.status, 200);
    await waitUntil(() => seen.length === 1, "the run");
    assert.equal(seen[0].webhook.rawBody.toString(), body);
    const bad = await fetch(`${rt.url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-shopify-hmac-sha256": sig },
      body: body.replace("1", "2"),
    });
    assert.equal(bad.status, 401);
    const perShop = await fetch(`${rt.url}/shops/acme-eu/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-shopify-hmac-sha256": sig },
      body,
    });
    assert.equal(perShop.status, 200);
    await waitUntil(() => seen.length === 2, "the second run");
    assert.deepEqual(seen[1].webhook.params, { shop: "acme-eu" });
  });

  it("starts a child run from a message that comes over a link from another flow", async function () {
    await rt.deploy([
      { id: "a", type: "tab", label: "Parent" },
      { id: "b", type: "tab", label: "Child" },
      { id: "pt", type: "pw-trigger", z: "a", name: "parent", schedules: [], wires: [["pv"]] },
      {
        id: "pv",
        type: "pw-set-variables",
        z: "a",
        rules: [{ target: "meta", key: "order", valueType: "str", value: "1001" }],
        wires: [["lo"]],
      },
      { id: "lo", type: "link out", z: "a", mode: "link", links: ["li"], wires: [] },
      { id: "li", type: "link in", z: "b", links: ["lo"], wires: [["ct"]] },
      { id: "ct", type: "pw-trigger", z: "b", name: "child", schedules: [], wires: [["csink"]] },
      {
        id: "csink",
        type: "function",
        z: "b",
        func: "global.get('seen').push(msg); return null;",
        outputs: 0,
        wires: [],
      },
    ]);
    const res = await rt.api("POST", "/pw/trigger/pt", { sku: "A1" });
    await waitUntil(() => seen.length === 1, "the child run");
    const child = seen[0].pw;
    assert.equal(child.run.parent, res.json.run.id);
    assert.equal(child.run.flow, "b");
    assert.equal(child.run.via, "event");
    assert.deepEqual(child.meta, { order: "1001" });
    assert.deepEqual(seen[0].payload, { sku: "A1" });
  });
});
