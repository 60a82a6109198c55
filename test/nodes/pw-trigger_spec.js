const assert = require("node:assert/strict");
const { helper, load, nextMessage, collect } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab", label: "Orders" };
const trigger = (extra) => ({
  id: "t1",
  type: "pw-trigger",
  z: "tab1",
  name: "start",
  schedules: [],
  wires: [["out"]],
  ...extra,
});
const out = { id: "out", type: "helper", z: "tab1" };

describe("pw-trigger (node)", function () {
  afterEach(() => helper.unload());

  it("starts a run for every message at its input, keeping the message", async function () {
    await load([tab, trigger(), out]);
    const received = nextMessage("out");
    helper.getNode("t1").receive({ payload: { sku: "A1" }, topic: "stock" });
    const msg = await received;
    assert.deepEqual(msg.payload, { sku: "A1" });
    assert.equal(msg.topic, "stock");
    assert.equal(msg.pw.run.flow, "tab1");
    assert.equal(msg.pw.run.trigger, "t1");
    assert.equal(msg.pw.run.via, "event");
    assert.ok(!Number.isNaN(Date.parse(msg.pw.run.startedAt)));
    assert.deepEqual(msg.pw.meta, {});
  });

  it("records the run a message came from as the new run's parent", async function () {
    await load([tab, trigger(), out]);
    const received = nextMessage("out");
    helper.getNode("t1").receive({ payload: 1, pw: { run: { id: "PARENT1" }, meta: { order: "7" } } });
    const msg = await received;
    assert.equal(msg.pw.run.parent, "PARENT1");
    assert.notEqual(msg.pw.run.id, "PARENT1");
    assert.deepEqual(msg.pw.meta, { order: "7" });
  });

  it("fires on a second-level cron schedule and shows the next fire time", async function () {
    this.timeout(8000);
    await load([
      tab,
      trigger({ schedules: [{ type: "cron", cron: "* * * * * *", tz: "Europe/London" }] }),
      out,
    ]);
    const statuses = [];
    helper.getNode("t1").on("call:status", (c) => statuses.push(c.args[0]));
    const msgs = collect("out");
    await waitUntil(() => msgs.length >= 2, "two scheduled runs", 4000);
    assert.notEqual(msgs[0].pw.run.id, msgs[1].pw.run.id);
    assert.equal(msgs[0].pw.run.via, "schedule");
    assert.deepEqual(msgs[0].payload, {});
    assert.equal(msgs[0].schedule.cron, "* * * * * *");
    assert.equal(msgs[0].schedule.tz, "Europe/London");
    assert.match(statuses.at(-1).text, /^next: \w{3} \d+ \w{3} \d\d:\d\d:\d\d Europe\/London$/);
  });

  it("stops firing when the flow is stopped", async function () {
    this.timeout(5000);
    await load([tab, trigger({ schedules: [{ type: "cron", cron: "* * * * * *" }] }), out]);
    const msgs = collect("out");
    await helper.unload();
    const count = msgs.length;
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(msgs.length, count);
  });

  it("shows a red status and a clear error for an invalid cron, and keeps the runtime up", async function () {
    const flow = [tab, trigger({ schedules: [{ type: "cron", cron: "99 * * * *" }] }), out];
    const errors = [];
    const statuses = [];
    const spyOn = () => {
      const n = helper.getNode("t1");
      n.on("call:error", (c) => errors.push(String(c.args[0])));
      n.on("call:status", (c) => statuses.push(c.args[0]));
    };
    // Errors raised in the constructor are logged; the helper's log spy sees them.
    await load(flow);
    spyOn();
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "t1");
    assert.match(logged[0].msg, /trigger "start": schedule 1: cron "99 \* \* \* \*" is not valid/);
    // Like every shape with a configuration it cannot use, it fails each message with the reason.
    helper.getNode("t1").receive({ payload: 1 });
    await waitUntil(() =>
      errors.some((e) => /"start" is not configured correctly: schedule 1: cron/.test(e)),
    );
    assert.throws(() => helper.getNode("t1").fireManually({}), /not configured correctly/);
  });

  it("rejects an unknown time zone with a red status", async function () {
    await load([tab, trigger({ schedules: [{ type: "daily", time: "09:00", tz: "Europe/Atlantis" }] }), out]);
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "t1");
    assert.match(logged[0].msg, /unknown time zone "Europe\/Atlantis": use an IANA name/);
  });

  describe("manual route POST /pw/trigger/:id", function () {
    it("starts a run with the JSON body as payload and answers with the run", async function () {
      await load([tab, trigger(), out]);
      const received = nextMessage("out");
      const res = await helper
        .request()
        .post("/pw/trigger/t1")
        .send([{ id: 1 }, { id: 2 }])
        .expect(200);
      const msg = await received;
      assert.deepEqual(msg.payload, [{ id: 1 }, { id: 2 }]);
      assert.equal(msg.pw.run.via, "manual");
      assert.equal(res.body.run.id, msg.pw.run.id);
    });

    it("starts a run with an empty object payload when no body is given", async function () {
      await load([tab, trigger(), out]);
      const received = nextMessage("out");
      await helper.request().post("/pw/trigger/t1").expect(200);
      assert.deepEqual((await received).payload, {});
    });

    it("answers 404 in JSON for an unknown node or a node of another type", async function () {
      await load([tab, trigger(), out]);
      const res = await helper.request().post("/pw/trigger/nope").expect(404);
      assert.match(res.body.message, /No deployed trigger has id nope/);
      await helper.request().post("/pw/trigger/out").expect(404);
    });
  });
});
