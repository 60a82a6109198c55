// What the marketplace connector specs share: one flow per endpoint call (trigger, optional
// manual payload, a pw-connection on an instance whose secrets go through the admin API as the
// editor sends them, sinks on both outputs), run through the trigger's admin route and read
// back from the run log, as a user would.
const { waitUntil } = require("./wait");
const { loadPrebuilt } = require("./dist").lib("connectors/definition");

const prebuilt = Object.fromEntries(loadPrebuilt().map((d) => [d.id, d]));

/** Every endpoint id of every prebuilt connector, as `<connector>/<endpoint>`. */
const allEndpoints = () => Object.values(prebuilt).flatMap((d) => d.endpoints.map((e) => `${d.id}/${e.id}`));

function harness(rt, seen) {
  const sink = (id) => ({
    id,
    type: "function",
    z: "t",
    func: `global.get('seen').push({ at: '${id}', payload: msg.payload, page: msg.pw && msg.pw.page }); return null;`,
    outputs: 0,
    wires: [],
  });
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      60000,
      25,
    );

  /**
   * Deploys trigger → [manual payload →] connection → ok / failed sinks for one endpoint of the
   * instance, starts a run and answers what arrived downstream and the run as the run log has it.
   */
  async function call(instance, endpoint, { params = {}, payload, shape = {}, beforeRun } = {}) {
    seen.length = 0;
    const first = payload === undefined ? "conn" : "mp";
    await rt.deploy([
      { id: "t", type: "tab", label: "Marketplace" },
      { id: "inst", type: "pw-instance", name: instance.name ?? "vendor", ...instance },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[first]] },
      ...(payload === undefined
        ? []
        : [
            {
              id: "mp",
              type: "pw-manual-payload",
              z: "t",
              format: "json",
              payload: JSON.stringify(payload),
              wires: [["conn"]],
            },
          ]),
      {
        id: "conn",
        type: "pw-connection",
        z: "t",
        name: endpoint,
        instance: "inst",
        endpoint,
        params: Object.entries(params).map(([key, value]) => ({
          key,
          valueType: "str",
          value: String(value),
        })),
        failureOutput: true,
        outputs: 2,
        wires: [["ok"], ["bad"]],
        ...shape,
      },
      { ...sink("ok"), z: "t" },
      { ...sink("bad"), z: "t" },
    ]);
    const waited = beforeRun && (await beforeRun());
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    const run = await ended(id);
    // The run ends when nothing is in flight, so every message has reached its sink.
    const pages = seen.filter((s) => s.at === "ok");
    return {
      run,
      pages,
      waited,
      records: pages.flatMap((p) => p.payload),
      failed: seen.filter((s) => s.at === "bad").flatMap((s) => s.payload),
      requests: run.steps.conn?.requests ?? [],
    };
  }
  return { call };
}

module.exports = { prebuilt, allEndpoints, harness };

/**
 * The end-to-end suite of one prebuilt connector: a case per endpoint (each meeting a 429 the
 * shape waits out first, at least `retryAfterMs` when the vendor sends Retry-After, then pulling
 * every page or sending and reading back from the fake),
 * a check that the cases cover the definition's endpoints, and `more(ctx)` for the connector's
 * own 5xx and failure tests. `ctx` holds { rt, fake, call(endpoint, opts), callWith(instance, endpoint, opts) }.
 */
function endToEnd({ title, connector, start, instance, cases, tooMany, retryAfterMs = 0, secrets, more }) {
  const assert = require("node:assert/strict");
  const { startRuntime } = require("./runtime");
  describe(`${title} connector end to end (runtime, pw-connection)`, function () {
    this.timeout(120000);
    const seen = [];
    const ctx = {};
    const ran = [];
    before(async () => {
      ctx.fake = await start();
      ctx.rt = await startRuntime({
        functionGlobalContext: { seen },
        patchworks: { runs: { settleMs: 40 } },
      });
      const { call } = harness(ctx.rt, seen);
      ctx.call = (endpoint, opts) => call(instance(ctx.fake), endpoint, opts);
      ctx.callWith = (inst, endpoint, opts) => call(inst, endpoint, opts);
    });
    after(async () => {
      await ctx.rt?.stop();
      await ctx.fake?.close();
    });

    it("has a case for every endpoint the connector defines", function () {
      assert.deepEqual(Object.keys(cases).sort(), prebuilt[connector].endpoints.map((e) => e.id).sort());
    });

    it("is offered to the editor's pickers (GET /pw/connectors) with every endpoint and each credential's help", async function () {
      const listed = (await ctx.rt.api("GET", "/pw/connectors")).json.connectors.find(
        (c) => c.id === connector,
      );
      assert.ok(listed, `${connector} in the editor's list`);
      assert.deepEqual(
        listed.endpoints.map((e) => e.id).sort(),
        prebuilt[connector].endpoints.map((e) => e.id).sort(),
      );
      for (const v of prebuilt[connector].variables)
        assert.equal(
          listed.variables.find((l) => l.key === v.key)?.help,
          v.help,
          `${connector}.${v.key} help`,
        );
    });

    for (const [endpoint, c] of Object.entries(cases)) {
      const direction = prebuilt[connector].endpoints.find((e) => e.id === endpoint)?.direction;
      it(`${endpoint}: waits out the rate limit, then ${direction === "send" ? "sends, reading back from the fake" : "pulls every page"}`, async function () {
        const fake = ctx.fake;
        if (c.before) await c.before(fake);
        // The vendor's rate limit answers the first request; a case's own `tooMany` may return
        // its check of how the shape waited (Shopify's GraphQL THROTTLED is not a 429).
        const limited = c.tooMany ?? tooMany;
        const opts = typeof c.opts === "function" ? c.opts(fake) : c;
        // Set just before the run starts, after the deploy.
        let from = 0;
        const beforeRun =
          limited &&
          (() => {
            from = fake.log.length;
            return limited(fake);
          });
        const out = await ctx.call(endpoint, { ...opts, beforeRun });
        assert.equal(out.run.status, c.status ?? "succeeded", JSON.stringify(out.run.errors));
        ran.push({ id: out.run.id, endpoint, status: out.run.status, failed: out.failed.length });
        if (typeof out.waited === "function") out.waited(out);
        else if (limited) {
          assert.equal(
            out.requests[0].attempts,
            2,
            "the first try met the rate limit, the second went through",
          );
          // As long as the vendor's Retry-After asked (a little less: timers and clocks round).
          const [first, second] = fake.log.slice(from);
          assert.ok(second.at - first.at >= retryAfterMs - 50, `waited ${second.at - first.at} ms`);
        }
        if (direction === "receive" && out.pages.length)
          assert.equal(out.pages.at(-1).page.last, true, "pulled to the last page");
        await c.check({ ...out, fake });
        for (const text of [JSON.stringify(out.run), JSON.stringify(ctx.rt.logs)])
          for (const secret of secrets) assert.ok(!text.includes(secret), "no secret in the run log or logs");
      });
    }

    it("lists every endpoint's run in the run log with its status and failed records", async function () {
      assert.equal(ran.length, Object.keys(cases).length, "every case ran");
      const listed = new Map((await ctx.rt.api("GET", "/pw/runs")).json.runs.map((r) => [r.id, r]));
      for (const r of ran) {
        const run = listed.get(r.id);
        assert.ok(run, `${r.endpoint}: run ${r.id} listed`);
        assert.equal(run.status, r.status, r.endpoint);
        assert.equal(run.failedRecords ?? 0, r.failed, `${r.endpoint}: failed records`);
      }
    });

    if (more) more(ctx);
  });
}

module.exports.endToEnd = endToEnd;
