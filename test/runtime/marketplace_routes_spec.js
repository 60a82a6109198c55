// The Marketplace's admin routes in a real runtime with adminAuth on: who may read them, what
// they list, and the nodes an install prepares (existing instances reused, fresh ids, disabled
// tabs), with actionable answers to bad requests.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const bcrypt = require("bcryptjs");
const { startRuntime } = require("../support/runtime");
const { root } = require("../support/dist");

const hash = bcrypt.hashSync("secret", 4);
const ID = "shopify-customers-to-hubspot";
const manifests = fs.readdirSync(path.join(root, "nodes", "marketplace")).filter((f) => f.endsWith(".json"));

describe("Marketplace admin routes (runtime, adminAuth on)", function () {
  this.timeout(30000);
  let rt;
  const tokens = {};
  before(async () => {
    const scopes = { reader: ["pw-marketplace.read"], other: ["flows.read"] };
    rt = await startRuntime({
      adminAuth: {
        type: "credentials",
        users: Object.entries(scopes).map(([username, permissions]) => ({
          username,
          password: hash,
          permissions,
        })),
      },
    });
    for (const [username, scope] of Object.entries(scopes)) {
      const res = await rt.api("POST", "/auth/token", {
        client_id: "node-red-admin",
        grant_type: "password",
        scope: scope.join(" "),
        username,
        password: "secret",
      });
      assert.equal(res.status, 200, res.text);
      tokens[username] = res.json.access_token;
    }
  });
  after(() => rt.stop());
  const as = (user, method, route, body) =>
    rt.api(method, route, body, user ? { Authorization: `Bearer ${tokens[user]}` } : {});

  it("refuses a user without pw-marketplace.read, and no one signed in, on every route", async function () {
    for (const user of ["other", undefined]) {
      assert.equal((await as(user, "GET", "/pw/marketplace")).status, 401);
      assert.equal((await as(user, "GET", `/pw/marketplace/blueprints/${ID}`)).status, 401);
      assert.equal((await as(user, "POST", `/pw/marketplace/blueprints/${ID}/install`, {})).status, 401);
    }
  });

  it("lists the prebuilt connectors with endpoints and credentials, and every blueprint manifest", async function () {
    const res = await as("reader", "GET", "/pw/marketplace");
    assert.equal(res.status, 200, res.text);
    const shopify = res.json.connectors.find((c) => c.id === "shopify");
    assert.ok(shopify.endpoints.some((e) => e.direction === "receive"));
    assert.ok(shopify.endpoints.some((e) => e.direction === "send"));
    assert.deepEqual(
      shopify.secrets.map((s) => s.key),
      ["token"],
    );
    assert.ok(res.json.connectors.some((c) => c.id === "hubspot"));
    assert.equal(res.json.blueprints.length, manifests.length, "one entry per manifest in the folder");
    const b = res.json.blueprints.find((x) => x.id === ID);
    assert.equal(b.name, "Shopify customers into HubSpot contacts");
    assert.equal(b.installable, true, b.problems.join("; "));
    assert.deepEqual(
      b.connectors.map((c) => [c.connector, c.name, c.names]),
      [
        ["shopify", "Shopify", ["Shopify store"]],
        ["hubspot", "HubSpot", ["HubSpot portal"]],
      ],
    );
    assert.ok(b.calls.every((c) => c.perRun && c.perRecord));
    assert.ok(b.next.length > 0);
  });

  it("describes one blueprint with what the wizard asks, and 404s an unknown one", async function () {
    const res = await as("reader", "GET", `/pw/marketplace/blueprints/${ID}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.json.instances.map((i) => i.connector),
      ["shopify", "hubspot"],
    );
    const missing = await as("reader", "GET", "/pw/marketplace/blueprints/nope");
    assert.equal(missing.status, 404);
    assert.match(missing.json.message, /there is no blueprint "nope"/);
  });

  it("prepares an install reusing an existing instance, with fresh ids and a disabled tab", async function () {
    const res = await as("reader", "POST", `/pw/marketplace/blueprints/${ID}/install`, {
      choices: { shopify: "aaaa000000000001", hubspot: "" },
      existing: [{ id: "aaaa000000000001", connector: "shopify", name: "Acme store" }],
      tabLabels: ["Shopify customers into HubSpot contacts"],
    });
    assert.equal(res.status, 200, res.text);
    const { nodes, tabs, instances, next } = res.json;
    assert.deepEqual(
      nodes.filter((n) => n.type === "pw-instance").map((n) => n.connector),
      ["hubspot"],
    );
    assert.equal(
      nodes.find((n) => n.type === "pw-connection" && n.direction === "receive").instance,
      "aaaa000000000001",
    );
    assert.deepEqual(
      instances.map((i) => [i.connector, i.created]),
      [
        ["shopify", false],
        ["hubspot", true],
      ],
    );
    assert.deepEqual(
      tabs.map((t) => t.label),
      ["Shopify customers into HubSpot contacts (2)"],
    );
    assert.equal(nodes.find((n) => n.type === "tab").disabled, true);
    assert.ok(
      nodes.every((n) => !n.id.startsWith("c0ffee01")),
      "fresh ids",
    );
    assert.ok(next.length > 0);
  });

  it("answers a bad install request with what to send", async function () {
    const bad = async (body, pattern) => {
      const res = await as("reader", "POST", `/pw/marketplace/blueprints/${ID}/install`, body);
      assert.equal(res.status, 400, res.text);
      assert.match(res.json.message, pattern);
    };
    await bad({ choices: [] }, /choices: send/);
    await bad({ existing: [{ id: 1 }] }, /existing\[0\]: an instance needs a string id and connector/);
    await bad({ tabLabels: "x" }, /tabLabels: a list/);
    await bad({ choices: { shopify: "gone000000000000" } }, /is not in the workspace/);
    // A newId in the body is not the route's to take (it would be called as a function: a 500).
    const odd = await as("reader", "POST", `/pw/marketplace/blueprints/${ID}/install`, { newId: "x" });
    assert.equal(odd.status, 200, odd.text);
    const res = await rt.api("POST", `/pw/marketplace/blueprints/${ID}/install`, "{ not json", {
      Authorization: `Bearer ${tokens.reader}`,
    });
    assert.equal(res.status, 400);
    assert.match(res.json.message, /not valid JSON/);
  });
});
