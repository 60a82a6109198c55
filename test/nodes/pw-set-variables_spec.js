const assert = require("node:assert/strict");
const { helper, load, nextMessage } = require("../support/node-helper");

const tab = { id: "tab1", type: "tab" };
const out = { id: "out", type: "helper", z: "tab1" };
const catcher = { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] };
const caught = { id: "caught", type: "helper", z: "tab1" };
const setter = (rules, extra) => ({
  id: "s",
  type: "pw-set-variables",
  z: "tab1",
  name: "vars",
  rules,
  wires: [["out"]],
  ...extra,
});
const pw = () => ({
  run: { id: "R1", flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { existing: "yes" },
});

describe("pw-set-variables (node)", function () {
  afterEach(() => helper.unload());

  it("sets meta on a new msg.pw and flow variables in flow context", async function () {
    await load([
      tab,
      setter([
        { target: "meta", key: "customer", valueType: "path", value: "customer.email" },
        {
          target: "flow",
          key: "lastOrder",
          valueType: "template",
          value: "{{payload.id}}/{{meta.customer}}/{{run.id}}",
        },
      ]),
      out,
    ]);
    const incoming = { payload: { id: 42, customer: { email: "a@example.com" } }, pw: pw() };
    const received = nextMessage("out");
    helper.getNode("s").receive(incoming);
    const msg = await received;
    assert.deepEqual(msg.pw.meta, { existing: "yes", customer: "a@example.com" });
    assert.equal(msg.pw.run.id, "R1");
    assert.deepEqual(msg.payload, incoming.payload);
    assert.deepEqual(incoming.pw.meta, { existing: "yes" }, "the incoming message's meta is untouched");
    assert.equal(helper.getNode("s").context().flow.get("lastOrder"), "42/a@example.com/R1");
  });

  it("reads flow variables and environment variables in templates", async function () {
    await load([
      { ...tab, env: [{ name: "SHOP", value: "acme", type: "str" }] },
      setter([
        { target: "flow", key: "region", valueType: "str", value: "EU" },
        { target: "meta", key: "where", valueType: "template", value: "{{env.SHOP}}-{{flow.region}}" },
        { target: "meta", key: "shop", valueType: "env", value: "SHOP" },
      ]),
      out,
    ]);
    helper.getNode("s").context().flow.set("region", "EU");
    const received = nextMessage("out");
    helper.getNode("s").receive({ payload: {}, pw: pw() });
    const msg = await received;
    assert.equal(msg.pw.meta.where, "acme-EU");
    assert.equal(msg.pw.meta.shop, "acme");
  });

  it("fails the message, not the runtime, when meta would exceed 10 KB", async function () {
    await load([
      tab,
      setter([{ target: "meta", key: "blob", valueType: "path", value: "text" }]),
      catcher,
      caught,
      out,
    ]);
    const received = nextMessage("caught");
    helper.getNode("s").receive({ payload: { text: "x".repeat(12000) }, pw: pw() });
    const msg = await received;
    assert.match(
      msg.error.message,
      /set variables "vars": row 1 \(meta "blob"\): meta variables would take \d+ bytes, over the 10240-byte limit/,
    );
  });

  it("reports a bad rule at deploy and fails each message with it", async function () {
    await load([
      tab,
      setter([{ target: "meta", key: "n", valueType: "num", value: "ten" }]),
      catcher,
      caught,
      out,
    ]);
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "s");
    assert.match(logged[0].msg, /row 1 \(meta "n"\): "ten" is not a number/);
    const received = nextMessage("caught");
    helper.getNode("s").receive({ payload: {} });
    assert.match((await received).error.message, /not configured correctly/);
  });

  describe('"when the run ends successfully"', function () {
    const { provideRuns } = require("../support/dist").node("contracts");
    /** A stand-in for the run tracker: the test ends runs by hand. */
    function fakeRuns() {
      const listeners = new Map();
      const runs = {
        tracker: {
          isActive: (id) => id === "R1",
          whenFinished: (id, fn) => listeners.set(id, [...(listeners.get(id) ?? []), fn]),
        },
        end: (id, status) => (listeners.get(id) ?? []).forEach((fn) => fn({ id, status })),
      };
      provideRuns(runs);
      return runs;
    }
    afterEach(() => provideRuns(undefined));
    const watermark = (extra) =>
      setter(
        [
          { target: "flow", key: "lastSyncedAt", valueType: "template", value: "{{run.startedAt}}" },
          { target: "meta", key: "seen", valueType: "str", value: "yes" },
        ],
        { writeWhen: "success", ...extra },
      );

    it("writes flow variables only once the run has ended succeeded; meta is set at once", async function () {
      const runs = fakeRuns();
      await load([tab, watermark(), out]);
      const flow = helper.getNode("s").context().flow;
      flow.set("lastSyncedAt", "2026-01-01T00:00:00.000Z");
      const received = nextMessage("out");
      helper.getNode("s").receive({ payload: [], pw: pw() });
      assert.equal((await received).pw.meta.seen, "yes");
      assert.equal(flow.get("lastSyncedAt"), "2026-01-01T00:00:00.000Z", "not before the run ends");
      runs.end("R1", "succeeded");
      assert.equal(flow.get("lastSyncedAt"), "2026-11-27T10:00:00.000Z");
    });

    for (const status of ["failed", "completed with failures", "stopped", "timed out"]) {
      it(`leaves the watermark as it was when the run ends "${status}"`, async function () {
        const runs = fakeRuns();
        await load([tab, watermark(), out]);
        const flow = helper.getNode("s").context().flow;
        flow.set("lastSyncedAt", "2026-01-01T00:00:00.000Z");
        const received = nextMessage("out");
        helper.getNode("s").receive({ payload: [], pw: pw() });
        await received;
        runs.end("R1", status);
        assert.equal(flow.get("lastSyncedAt"), "2026-01-01T00:00:00.000Z");
      });
    }

    it("fails a message that belongs to no run, saying how to fix it", async function () {
      fakeRuns();
      await load([tab, watermark(), catcher, caught, out]);
      const received = nextMessage("caught");
      helper.getNode("s").receive({ payload: [] });
      assert.match(
        (await received).error.message,
        /set variables "vars": flow variables are set "when the run ends successfully", but this message belongs to no run: start the flow with a trigger shape/,
      );
    });

    it("fails the message when run tracking is off", async function () {
      await load([tab, watermark(), catcher, caught, out]);
      const received = nextMessage("caught");
      helper.getNode("s").receive({ payload: [], pw: pw() });
      assert.match((await received).error.message, /run tracking is off/);
    });

    it("refuses an unknown choice at deploy", async function () {
      await load([tab, watermark({ writeWhen: "later" }), catcher, caught, out]);
      const received = nextMessage("caught");
      helper.getNode("s").receive({ payload: [], pw: pw() });
      assert.match((await received).error.message, /unknown "write flow variables" choice "later"/);
    });
  });
});
