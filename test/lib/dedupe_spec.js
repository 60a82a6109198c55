// The de-dupe engine: data pools, check-and-set, expiry, the append-only log and its compaction.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { lib } = require("../support/dist");
const { DedupeStore, compileKey, keyText, ttlSeconds, checkPoolName } = lib("dedupe");

describe("de-dupe pools (engine)", function () {
  let dir;
  let now;
  const stores = [];
  const open = (opts = {}) => {
    const store = new DedupeStore(dir, { now: () => now, ...opts });
    stores.push(store);
    return store;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-dedupe-"));
    now = Date.UTC(2026, 10, 27, 10);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const DAY = 86400;

  it("filter and track drops keys seen before, in this payload or an earlier one", async function () {
    const pool = await open().pool("orders");
    const first = pool.process("", ["1", "2", "2", "3"], "filter-and-track", DAY);
    assert.deepEqual(first.passed, [true, true, false, true]);
    assert.equal(first.tracked, 3);
    await first.durable;
    assert.deepEqual(pool.process("", ["3", "4"], "filter-and-track", DAY).passed, [false, true]);
  });

  it("filter remembers nothing; track passes everything and remembers it", async function () {
    const pool = await open().pool("p");
    assert.deepEqual(pool.process("", ["a", "a"], "filter", DAY).passed, [true, true]);
    const tracked = pool.process("", ["a", "b", "a"], "track", DAY);
    assert.deepEqual(tracked.passed, [true, true, true]);
    assert.equal(tracked.tracked, 2);
    assert.deepEqual(pool.process("", ["a", "c"], "filter", DAY).passed, [false, true]);
  });

  it("keeps entities apart and forgets a key once its time to live has passed", async function () {
    const pool = await open().pool("p");
    pool.process("orders", ["1001"], "track", 60);
    assert.equal(pool.has("orders", "1001"), true);
    assert.equal(pool.has("fulfillments", "1001"), false);
    now += 61 * 1000;
    assert.equal(pool.has("orders", "1001"), false);
    assert.deepEqual(pool.process("orders", ["1001"], "filter-and-track", 60).passed, [true]);
  });

  it("reads back every key after a restart, odd characters included, expired ones left out", async function () {
    const odd = ["tab\there", "line\nbreak", "back\\slash", "é€😀", "__proto__", "constructor"];
    const store = open();
    const pool = await store.pool("odd pool/ü");
    await pool.process("ent\tity", odd, "track", DAY).durable;
    await pool.process("", ["short"], "track", 10).durable;
    await store.close();
    now += 20 * 1000;
    const again = await open().pool("odd pool/ü");
    for (const key of odd) assert.equal(again.has("ent\tity", key), true, key);
    assert.equal(again.has("", "short"), false);
    assert.deepEqual(again.info().entities, { "ent\tity": odd.length });
    assert.deepEqual(await open().names(), ["odd pool/ü"]);
  });

  it("skips a last line cut short by a crash", async function () {
    const store = open();
    const pool = await store.pool("p");
    await pool.process("", ["kept"], "track", DAY).durable;
    await store.close();
    fs.appendFileSync(pool.file, "99999999\t\tcut");
    const again = await open().pool("p");
    assert.equal(again.has("", "kept"), true);
    assert.equal(again.has("", "cut"), false);
  });

  it("rewrites a log that is mostly dead lines, losing no live key", async function () {
    const store = open({ compactMinBytes: 1000 });
    const pool = await store.pool("p");
    for (let round = 0; round < 30; round++)
      await pool.process(
        "",
        Array.from({ length: 20 }, (_, i) => `k${i}`),
        "track",
        DAY + round,
      ).durable;
    await pool.process("", ["last"], "track", DAY).durable;
    // 601 lines of about 17 bytes were appended; compaction keeps the file near its 21 live keys.
    assert.ok(fs.statSync(pool.file).size < 2500, `compacted (${fs.statSync(pool.file).size} bytes)`);
    await store.close();
    const again = await open().pool("p");
    assert.equal(again.info().keys, 21);
  });

  it("lets only one of many concurrent check-and-sets pass a key", async function () {
    const store = open();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.pool("race").then((pool) => pool.process("", ["same", "other"], "filter-and-track", DAY)),
      ),
    );
    assert.equal(results.filter((r) => r.passed[0]).length, 1);
    assert.equal(results.filter((r) => r.passed[1]).length, 1);
  });

  it("imports only keys not already there and clears a pool on disk", async function () {
    const store = open();
    const pool = await store.pool("p");
    await pool.process("", ["a"], "track", DAY).durable;
    assert.equal(await pool.add("", ["a", "b", "c"], DAY), 2);
    await pool.clear();
    assert.equal(pool.info().keys, 0);
    await store.close();
    assert.equal((await open().pool("p")).info().keys, 0);
  });

  it("checks names, keys and times to live with messages that say what to fix", function () {
    assert.throws(() => checkPoolName(""), /the data pool name is empty/);
    assert.throws(() => checkPoolName("x".repeat(101)), /over 100/);
    assert.throws(() => compileKey("path", ""), /the key is empty/);
    assert.throws(() => compileKey("path", "a..b"), /empty key/);
    assert.throws(() => compileKey("template", "{{#a}}"), /not valid/);
    assert.throws(() => ttlSeconds("-1", "days"), /not a positive number/);
    assert.throws(() => ttlSeconds("1", "weeks"), /unknown time to live unit/);
    assert.equal(ttlSeconds(undefined), 90 * DAY);
    assert.equal(compileKey("template", "{{record.a}}-{{record.b}}")({ a: 1, b: "x" }, {}), "1-x");
    assert.deepEqual(keyText({ id: 1 }), { problem: "has a key that is an object, not text or a number" });
    assert.equal(keyText(42), "42");
  });
});
