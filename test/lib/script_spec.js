// The script engine: what the user's code sees, what it may return, errors with their line and
// column, and one time limit over synchronous code, promise callbacks, timers and awaits.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { compileScript, scriptTimeoutMs, payloadsOf, ScriptTimeoutError, ScriptSyntaxError } = lib("script");

function host(flowValues = {}, env = {}) {
  const logs = [];
  return {
    logs,
    flow: { get: (k) => flowValues[k], keys: () => Object.keys(flowValues) },
    env: (name) => env[name],
    log: (level, text) => logs.push([level, text]),
  };
}
const input = (payload, meta = { shop: "acme" }) => ({ payload, meta, run: { id: "R1" } });
const run = (code, payload, opts = {}, h = host()) =>
  compileScript(code).run(input(payload, opts.meta), h, { timeoutMs: opts.timeoutMs ?? 2000, ...opts });

describe("script engine", function () {
  it("returns the new payload, from sync and async code alike", async function () {
    const sync = await run("return payload.map(o => ({ ...o, total: o.qty * o.price }));", [
      { qty: 2, price: 5 },
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(sync.value)), [{ qty: 2, price: 5, total: 10 }]);
    const slow = await run(
      "await new Promise(r => setTimeout(r, 20)); await null; return { n: payload.n + 1 };",
      { n: 1 },
    );
    assert.equal(slow.value.n, 2);
  });

  it("sees meta, flow variables, env, the run and a logger; meta and flow writes come back", async function () {
    const h = host({ lastSyncedAt: "2026-01-01" }, { SHOP: "acme.myshopify.com" });
    const out = await run(
      `log.info("orders", payload.length);
       console.warn({ careful: true });
       meta.count = payload.length;
       meta.shopHost = env.get("SHOP");
       flow.set("lastSyncedAt", "2026-02-02");
       return { since: flow.get("lastSyncedAt"), run: run.id, shop: meta.shop, keys: flow.keys() };`,
      [1, 2],
      {},
      h,
    );
    assert.deepEqual(JSON.parse(JSON.stringify(out.value)), {
      since: "2026-02-02",
      run: "R1",
      shop: "acme",
      keys: ["lastSyncedAt"],
    });
    assert.deepEqual(out.meta, { shop: "acme", count: "2", shopHost: "acme.myshopify.com" });
    assert.deepEqual(out.flowWrites, [{ key: "lastSyncedAt", value: "2026-02-02", store: undefined }]);
    assert.deepEqual(h.logs, [
      ["info", "orders 2"],
      ["warn", '{"careful":true}'],
    ]);
  });

  it("keeps the meta object when the script leaves meta alone", async function () {
    const meta = { a: "1" };
    const out = await compileScript("return 1;").run(input(0, meta), host(), { timeoutMs: 1000 });
    assert.equal(out.meta, meta);
  });

  it("refuses meta over 10 KB and flow names that reach prototypes", async function () {
    await assert.rejects(
      run("meta.big = 'x'.repeat(11000); return 1;", 0),
      /meta: .*over the 10240-byte limit/,
    );
    await assert.rejects(
      run("flow.set('a.__proto__.polluted', 1); return 1;", 0),
      /line 1, column 6: .*__proto__/,
    );
    await assert.rejects(run("meta.constructor = 'x'; return 1;", 0), /meta: .*"constructor"/);
    assert.equal({}.polluted, undefined);
  });

  it("has no require or process unless they are given", async function () {
    await assert.rejects(
      run("return typeof require === 'undefined' ? null : require('fs');", 0).then((r) => {
        if (r.value === null) throw new Error("no require");
      }),
      /no require/,
    );
    const out = await run("return [typeof require, typeof process];", 0, { require, process: true });
    assert.deepEqual([...out.value], ["function", "object"]);
    await assert.rejects(run("return await import('fs');", 0), /line 1/);
  });

  it("reports the line and column of a runtime error in the user's code", async function () {
    await assert.rejects(run("const a = 1;\nconst o = null;\nreturn o.x;", 0), (err) => {
      assert.match(err.message, /^line 3, column 10: TypeError: Cannot read properties of null/);
      assert.deepEqual(err.position, { line: 3, column: 10 });
      return true;
    });
    await assert.rejects(
      run(
        "await null;\nsetTimeout(() => {\n  throw new RangeError('late');\n}, 1);\nawait new Promise(() => {});",
        0,
      ),
      /line 3, column 9: RangeError: late/,
    );
    await assert.rejects(run("throw 'plain text';", 0), /the script threw plain text/);
  });

  it("refuses a script that does not parse, with the line and column", function () {
    assert.throws(
      () => compileScript("const a = 1;\n  let b = = 2;\nreturn a;"),
      (err) => {
        assert.ok(err instanceof ScriptSyntaxError);
        assert.match(err.message, /does not parse: line 2, column 11: Unexpected token '='/);
        assert.deepEqual(err.position, { line: 2, column: 11 });
        return true;
      },
    );
    assert.throws(() => compileScript("if (payload) {\n  return 1;"), /at the end of the script/);
    assert.throws(() => compileScript("  "), /the script is empty/);
  });

  it("fails a script that returns nothing, and sends nothing for null", async function () {
    await assert.rejects(run("payload.x = 1;", {}), /returned nothing: end it with return payload;/);
    assert.deepEqual(payloadsOf(null, false), []);
    assert.deepEqual(payloadsOf([1, 2], true), [1, 2]);
    assert.deepEqual(payloadsOf([1, 2], false), [[1, 2]]);
    assert.throws(() => payloadsOf({ a: 1 }, true), /not an array: "send each element/);
  });

  describe("time limit", function () {
    const limit = (code) => run(code, 0, { timeoutMs: 150 });
    const within = async (promise, ms) => {
      const started = Date.now();
      await assert.rejects(promise, (err) => {
        assert.ok(err instanceof ScriptTimeoutError, err.message);
        assert.match(err.message, /did not finish within its limit of 0.15 s/);
        return true;
      });
      assert.ok(Date.now() - started < ms, `took ${Date.now() - started} ms`);
    };

    it("stops a synchronous loop", async function () {
      await within(limit("while (true) {}"), 1000);
    });

    it("stops a microtask loop, before and after an await", async function () {
      await within(limit("const spin = () => Promise.resolve().then(spin); spin(); return 1;"), 1000);
      await within(
        limit(
          "await new Promise(r => setTimeout(r, 10));\nconst spin = () => Promise.resolve().then(spin);\nspin();",
        ),
        1000,
      );
    });

    it("stops a loop in a timer callback", async function () {
      await within(limit("setTimeout(() => { while (true) {} }, 5); await new Promise(() => {});"), 1000);
    });

    it("fails async code that waits too long, and cancels its timers", async function () {
      const h = host();
      await within(
        run(
          "setTimeout(() => log.info('late'), 300); await new Promise(r => setTimeout(r, 10000)); return 1;",
          0,
          {
            timeoutMs: 150,
          },
          h,
        ),
        1000,
      );
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual(h.logs, [], "the script's timers were cancelled");
    });

    it("lets awaits on host promises continue (modules from require)", async function () {
      const out = await run(
        "const { setTimeout: sleep } = require('timers/promises'); await sleep(20); await null; return 'done';",
        0,
        { require },
      );
      assert.equal(out.value, "done");
    });

    it("takes the limit in seconds, 120 s by default, refused over the cap", function () {
      assert.equal(scriptTimeoutMs(undefined), 120000);
      assert.equal(scriptTimeoutMs(""), 120000);
      assert.equal(scriptTimeoutMs("", 5), 5000, "empty: the cap when it is lower than 120 s");
      assert.equal(scriptTimeoutMs("0.5"), 500);
      assert.throws(
        () => scriptTimeoutMs(601),
        /over the cap of 600 s: lower it, or raise patchworks.script.maxTimeoutSeconds/,
      );
      assert.equal(scriptTimeoutMs(900, 1000), 900000);
      assert.throws(() => scriptTimeoutMs(0), /above 0/);
      assert.throws(() => scriptTimeoutMs("soon"), /above 0/);
    });
  });
});
