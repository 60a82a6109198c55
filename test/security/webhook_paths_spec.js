// Webhook paths cannot shadow the admin API when the editor and webhooks share a root.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { lib } = require("../support/dist");
const { waitUntil } = require("../support/wait");

const { adminConflict } = lib("webhook/routes");

describe("webhook paths and the admin API", function () {
  it("names the conflict for admin segments and leading parameters under the editor's root", function () {
    assert.match(adminConflict("/flows", "/"), /taken by the editor's admin API/);
    assert.match(adminConflict("/auth/token", "/"), /taken by the editor's admin API/);
    assert.match(adminConflict("/PW/runs", "/"), /taken/);
    assert.match(adminConflict("/:anything", "/"), /starts with a parameter/);
    assert.match(adminConflict("/admin/flows", "/admin"), /taken/);
    assert.equal(adminConflict("/orders/created", "/"), undefined);
    assert.equal(adminConflict("/hooks/flows", "/"), undefined, "under a segment of its own");
    assert.equal(adminConflict("/flows", "/admin"), undefined, "the editor lives elsewhere");
    assert.equal(adminConflict("/flows", false), undefined, "no editor at all");
  });

  describe("with the editor and webhooks on one root (runtime)", function () {
    this.timeout(30000);
    let rt;
    before(async () => {
      rt = await startRuntime({ httpNodeRoot: "/" });
    });
    after(() => rt.stop());

    it("refuses triggers at /flows, /auth/token and /:x at deploy, and deploys and logins keep working", async function () {
      const tab = { id: "tab", type: "tab", label: "Hooks" };
      const hook = (id, path) => ({
        id,
        type: "pw-trigger",
        z: "tab",
        name: id,
        schedules: [],
        webhook: true,
        path,
        methods: ["POST"],
        wires: [[]],
      });
      await rt.deploy([
        tab,
        hook("a", "/flows"),
        hook("b", "/auth/token"),
        hook("c", "/:x"),
        hook("d", "/orders"),
      ]);
      await waitUntil(
        () => ["a", "b", "c"].every((id) => rt.logs.some((l) => l.level === 20 && l.id === id)),
        "the three refusals",
      );
      for (const id of ["a", "b", "c"]) {
        const msg = rt.logs.find((l) => l.level === 20 && l.id === id).msg;
        assert.match(String(msg), /editor/, `${id}: ${msg}`);
      }
      // A deploy through POST /flows still works (it failed with 400 when a trigger owned it).
      const again = await rt.deploy([tab, hook("d", "/orders")]);
      assert.equal(again.status, 204, again.text);
      const login = await rt.api("GET", "/auth/login");
      assert.equal(login.status, 200);
      await waitUntil(() => rt.RED.nodes.getNode("d"), "the webhook trigger");
      const ok = await fetch(`${rt.url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(ok.status, 200, "an ordinary webhook path still works on the shared root");
    });
  });
});
