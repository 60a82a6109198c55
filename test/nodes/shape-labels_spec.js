// Deploy-time errors name a shape as the editor labels it on the canvas (its name, else its
// default label), never by its id, and list every problem of its settings at once.
const assert = require("node:assert/strict");
const { helper, load } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab", label: "Orders" };

/** What the shapes logged as errors at deploy, by node id. */
function loggedErrors() {
  const out = {};
  for (const [e] of helper.log().args) if (e.level === 20) (out[e.id] ??= []).push(String(e.msg));
  return out;
}

describe("shape labels in deploy-time errors (node)", function () {
  afterEach(() => helper.unload());

  it("names unnamed shapes by their default label, named ones by their name, and never by id", async function () {
    await load([
      tab,
      {
        id: "trigger-id-1",
        type: "pw-trigger",
        z: "tab1",
        schedules: [
          { type: "cron", cron: "99 * * * *", tz: "UTC" },
          { type: "minutes", every: 5, tz: "Mars/Olympus" },
        ],
        wires: [[]],
      },
      { id: "map-id-1", type: "pw-map", z: "tab1", rules: [{ source: "a", target: "" }], wires: [[]] },
      {
        id: "payload-id-1",
        type: "pw-manual-payload",
        z: "tab1",
        format: "json",
        payload: "{oops",
        wires: [[]],
      },
      {
        id: "split-id-1",
        type: "pw-split",
        z: "tab1",
        name: "Order lines",
        path: "a..b",
        mode: "each",
        wires: [[]],
      },
    ]);
    const logged = loggedErrors();
    // The trigger's canvas label is its schedules; both bad schedules are reported at once.
    assert.equal(logged["trigger-id-1"].length, 1);
    assert.match(
      logged["trigger-id-1"][0],
      /^trigger "cron 99 \* \* \* \*, every 5 min": schedule 1: cron "99 \* \* \* \*" is not valid.*; schedule 2: unknown time zone "Mars\/Olympus"/,
    );
    assert.match(logged["map-id-1"][0], /^map "map \(1 fields\)": rule 1: needs a target field/);
    assert.match(logged["payload-id-1"][0], /^manual payload: the payload is not valid JSON/);
    assert.match(logged["split-id-1"][0], /^split "Order lines": /);
    for (const [id, lines] of Object.entries(logged))
      for (const line of lines) assert.ok(!line.includes(id), `${line} names the node by its id`);
    // Messages that arrive fail with the same label, for Catch nodes and the run log.
    const errors = [];
    helper.getNode("map-id-1").on("call:error", (c) => errors.push(String(c.args[0])));
    helper.getNode("map-id-1").receive({ payload: [{ a: 1 }] });
    await waitUntil(() =>
      errors.some((e) =>
        /^Error: map "map \(1 fields\)" is not configured correctly: rule 1: needs a target/.test(e),
      ),
    );
  });
});
