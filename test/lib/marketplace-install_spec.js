// Installing a blueprint, the pure part: the blueprint's flow prepared for import into a
// workspace. Existing instances are reused (never a second copy of an account), imported nodes
// get fresh ids, tabs come disabled, and no credentials travel.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { lib, root } = require("../support/dist");
const { prepareInstall, freshId } = lib("marketplace/install");

const manifest = JSON.parse(
  fs.readFileSync(path.join(root, "nodes", "marketplace", "shopify-customers-to-hubspot.json"), "utf8"),
);
const flow = JSON.parse(fs.readFileSync(path.join(root, "blueprints", manifest.flow), "utf8"));
const counter = () => {
  let n = 0;
  return () => `new${String(++n).padStart(13, "0")}`;
};
const byType = (nodes, type) => nodes.filter((n) => n.type === type);
const blueprintIds = new Set(flow.map((n) => n.id));

describe("marketplace install (prepareInstall)", function () {
  it("keeps a setting named __proto__ in a flow as data, never a prototype", function () {
    const withProto = flow.map((n) =>
      n.type === "pw-map"
        ? JSON.parse(JSON.stringify(n).replace(/^\{/, '{"__proto__":{"polluted":true},'))
        : n,
    );
    const plan = prepareInstall(manifest, withProto, { newId: counter() });
    const map = byType(plan.nodes, "pw-map")[0];
    assert.ok(Object.hasOwn(map, "__proto__"), "kept as an own key");
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
    assert.equal(map.polluted, undefined);
    assert.equal({}.polluted, undefined);
  });

  it("creates new instances from the blueprint when the workspace has none, tabs disabled", function () {
    const plan = prepareInstall(manifest, flow, { newId: counter() });
    assert.equal(plan.nodes.length, flow.length);
    const instances = byType(plan.nodes, "pw-instance");
    assert.deepEqual(instances.map((i) => i.connector).sort(), ["hubspot", "shopify"]);
    assert.deepEqual(
      plan.instances.map((i) => [i.connector, i.created]),
      [
        ["shopify", true],
        ["hubspot", true],
      ],
    );
    const [tab] = byType(plan.nodes, "tab");
    assert.equal(tab.disabled, true, "the tab is disabled until the user enables it");
    assert.equal(tab.label, manifest.name);
    assert.deepEqual(plan.tabs, [{ id: tab.id, label: manifest.name }]);
    assert.deepEqual(plan.next, manifest.next);
    assert.equal(flow.find((n) => n.type === "tab").disabled, false, "the blueprint itself is not changed");
  });

  it("gives every node a fresh id and rewires z, wires and instance references to them", function () {
    const plan = prepareInstall(manifest, flow, { newId: counter() });
    const ids = new Set(plan.nodes.map((n) => n.id));
    assert.equal(ids.size, plan.nodes.length);
    for (const id of ids) assert.ok(!blueprintIds.has(id), `${id} is fresh`);
    const [tab] = byType(plan.nodes, "tab");
    for (const n of plan.nodes.filter((n) => n.z !== undefined)) assert.equal(n.z, tab.id);
    for (const n of plan.nodes)
      for (const out of n.wires ?? [])
        for (const to of out) assert.ok(ids.has(to), `${n.name} wires to ${to}`);
    for (const c of byType(plan.nodes, "pw-connection")) {
      const instance = plan.nodes.find((n) => n.id === c.instance);
      assert.equal(instance?.type, "pw-instance", `${c.name} points at an imported instance`);
    }
  });

  it("installed twice, the two copies share no id and the second tab gets a name of its own", function () {
    const first = prepareInstall(manifest, flow);
    const second = prepareInstall(manifest, flow, { tabLabels: first.tabs.map((t) => t.label) });
    const firstIds = new Set(first.nodes.map((n) => n.id));
    assert.ok(second.nodes.every((n) => !firstIds.has(n.id)));
    assert.equal(second.tabs[0].label, `${manifest.name} (2)`);
    const third = prepareInstall(manifest, flow, {
      tabLabels: [manifest.name, `${manifest.name} (2)`],
    });
    assert.equal(third.tabs[0].label, `${manifest.name} (3)`);
    assert.match(freshId(), /^[0-9a-f]{16}$/);
  });

  it("reuses an existing instance: the blueprint's copy is dropped and its shapes point at the user's", function () {
    const existing = [
      { id: "aaaa000000000001", connector: "shopify", name: "Acme store" },
      { id: "aaaa000000000002", connector: "hubspot", name: "Acme portal" },
    ];
    const plan = prepareInstall(manifest, flow, {
      newId: counter(),
      existing,
      choices: { shopify: "aaaa000000000001", hubspot: "" },
    });
    const instances = byType(plan.nodes, "pw-instance");
    assert.deepEqual(
      instances.map((i) => i.connector),
      ["hubspot"],
      "only the instance asked for as new is imported",
    );
    assert.deepEqual(
      plan.instances.map((i) => [i.connector, i.id, i.name, i.created]),
      [
        ["shopify", "aaaa000000000001", "Acme store", false],
        ["hubspot", instances[0].id, "HubSpot portal", true],
      ],
    );
    const pull = plan.nodes.find((n) => n.type === "pw-connection" && n.direction === "receive");
    const push = plan.nodes.find((n) => n.type === "pw-connection" && n.direction === "send");
    assert.equal(pull.instance, "aaaa000000000001");
    assert.equal(push.instance, instances[0].id);

    const both = prepareInstall(manifest, flow, {
      existing,
      choices: { shopify: "aaaa000000000001", hubspot: "aaaa000000000002" },
    });
    assert.equal(byType(both.nodes, "pw-instance").length, 0, "no duplicate of an existing instance");
    assert.equal(both.nodes.length, flow.length - 2);
  });

  it("refuses a choice that is not in the workspace, of another connector, or for a connector the blueprint does not use", function () {
    const existing = [{ id: "aaaa000000000002", connector: "hubspot", name: "Acme portal" }];
    assert.throws(
      () => prepareInstall(manifest, flow, { existing, choices: { shopify: "gone000000000000" } }),
      /the instance "gone000000000000" chosen for shopify is not in the workspace/,
    );
    assert.throws(
      () => prepareInstall(manifest, flow, { existing, choices: { shopify: "aaaa000000000002" } }),
      /"Acme portal" is of the connector "hubspot", not "shopify"/,
    );
    assert.throws(
      () => prepareInstall(manifest, flow, { existing, choices: { klaviyo: "aaaa000000000002" } }),
      /does not use the connector "klaviyo": choose instances for shopify, hubspot/,
    );
  });

  it("carries no secrets: credentials in the blueprint's nodes are left out", function () {
    const leaky = flow.map((n) =>
      n.type === "pw-instance"
        ? { ...n, credentials: { secret_0: "shpat_should_not_travel" } }
        : n.type === "pw-trigger" && n.webhook
          ? { ...n, credentials: { secret: "hook-secret-should-not-travel" } }
          : n,
    );
    const plan = prepareInstall(manifest, leaky);
    const text = JSON.stringify(plan);
    assert.ok(!text.includes("should_not_travel") && !text.includes("should-not-travel"));
    assert.ok(plan.nodes.every((n) => !("credentials" in n)));
  });

  it("remaps groups, link nodes and subflow instances too", function () {
    const m = { ...manifest, connectors: [], flows: ["T"] };
    const nodes = [
      { id: "t1", type: "tab", label: "T" },
      { id: "sf", type: "subflow", name: "S", in: [], out: [] },
      { id: "g1", type: "group", z: "t1", nodes: ["lo", "li"] },
      { id: "lo", type: "link out", z: "t1", g: "g1", links: ["li"], wires: [] },
      { id: "li", type: "link in", z: "t1", g: "g1", links: ["lo"], wires: [["si"]] },
      { id: "si", type: "subflow:sf", z: "t1", wires: [] },
    ];
    const plan = prepareInstall(m, nodes, { newId: counter() });
    const id = (old) => plan.nodes[nodes.findIndex((n) => n.id === old)].id;
    const get = (old) => plan.nodes.find((n) => n.id === id(old));
    assert.deepEqual(get("g1").nodes, [id("lo"), id("li")]);
    assert.deepEqual(get("lo").links, [id("li")]);
    assert.equal(get("li").g, id("g1"));
    assert.deepEqual(get("li").wires, [[id("si")]]);
    assert.equal(get("si").type, `subflow:${id("sf")}`);
  });
});
