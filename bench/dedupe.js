// De-dupe: checking 100,000 keys (half seen before) against a pool of 1,000,000, ours (a data
// pool: check-and-set, the new keys appended to its log and synced before the records go on)
// against a plain Set doing the same check-and-add in memory. Also the heap a million keys
// take, and how long a restart takes to read the pool back.
// Usage: node --expose-gc bench/dedupe.js <poolKeys> <checkedKeys> <rounds>; prints one JSON line.
const fs = require("fs");
const os = require("os");
const path = require("path");
const { DedupeStore } = require(path.join(__dirname, "..", "dist", "lib", "dedupe"));

const POOL = Number(process.argv[2] || 1000000);
const CHECKED = Number(process.argv[3] || 100000);
const ROUNDS = Number(process.argv[4] || 3);
const DAY = 86400;
// Shopify-like order ids as keys.
const key = (i) => String(5000000000000 + i);

const heap = () => {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
};

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-bench-dedupe-"));
  try {
    const base = heap();
    const store = new DedupeStore(dir);
    const pool = await store.pool("bench");
    const all = Array.from({ length: POOL }, (_, i) => key(i));
    for (let i = 0; i < POOL; i += 100000)
      await pool.process("orders", all.slice(i, i + 100000), "track", 90 * DAY).durable;
    all.length = 0;
    const poolBytes = heap() - base;

    const setBase = heap();
    const set = new Set();
    for (let i = 0; i < POOL; i++) set.add(key(i));
    const setBytes = heap() - setBase;

    const ours = [];
    const plain = [];
    const filterOnly = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Half the keys are in the pool, half are new (a different half each round).
      const keys = Array.from({ length: CHECKED }, (_, i) =>
        i % 2 ? key(i * 7) : key(POOL + r * CHECKED + i),
      );
      let t = process.hrtime.bigint();
      pool.process("orders", keys, "filter", 90 * DAY);
      filterOnly.push(Number(process.hrtime.bigint() - t) / 1e6);

      t = process.hrtime.bigint();
      const result = pool.process("orders", keys, "filter-and-track", 90 * DAY);
      await result.durable;
      ours.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (result.tracked !== CHECKED / 2)
        throw new Error(`tracked ${result.tracked}, expected ${CHECKED / 2}`);

      t = process.hrtime.bigint();
      const passed = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const fresh = !set.has(keys[i]);
        passed[i] = fresh;
        if (fresh) set.add(keys[i]);
      }
      plain.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    await store.close();
    const logMB = fs.statSync(pool.file).size / 1024 / 1024;

    const t = process.hrtime.bigint();
    const again = new DedupeStore(dir);
    const reloaded = await again.pool("bench");
    const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
    const keysAfter = reloaded.size;
    await again.close();
    const best = (xs) => Math.min(...xs);
    console.log(
      JSON.stringify({
        ms: { ours: best(ours), filterOnly: best(filterOnly), plainSet: best(plain) },
        heapMBPerMillionKeys: {
          ours: Math.round(((poolBytes / POOL) * 1e6) / 1024 / 1024),
          plainSet: Math.round(((setBytes / POOL) * 1e6) / 1024 / 1024),
        },
        logMB: Math.round(logMB),
        loadMs: Math.round(loadMs),
        keysAfter,
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
