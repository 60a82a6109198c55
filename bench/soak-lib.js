// Helpers the soak scenarios share: reading every run of a trigger from the admin API, and
// printing a scenario's figures with the ones that must be 0 checked.

const FINAL = (status) => status !== "queued" && status !== "running";

/** Every run of a trigger, newest first, a page of 1,000 at a time. */
async function allRuns(url, trigger) {
  const out = [];
  for (;;) {
    const before = out.length ? `&before=${encodeURIComponent(out.at(-1).id)}` : "";
    const res = await fetch(`${url}/pw/runs?trigger=${trigger}&limit=1000${before}`);
    if (res.status !== 200) throw new Error(`GET /pw/runs: ${res.status} ${await res.text()}`);
    const { runs } = await res.json();
    out.push(...runs);
    if (runs.length < 1000) return out;
  }
}

/** How many times each value occurs. */
function counts(values) {
  const map = new Map();
  for (const v of values) map.set(v, (map.get(v) ?? 0) + 1);
  return map;
}

/**
 * Prints `[label, value, mustBeZero]` rows as a table and a last line "<name>: OK" or
 * "<name>: FAILED"; returns whether every must-be-0 figure is 0.
 */
function report(name, rows) {
  const width = Math.max(...rows.map(([label, , zero]) => label.length + (zero ? 12 : 0)));
  let ok = true;
  for (const [label, value, zero] of rows) {
    if (zero && value !== 0) ok = false;
    console.log(`${(zero ? `${label} (must be 0)` : label).padEnd(width)}  ${value}`);
  }
  console.log(`${name}: ${ok ? "OK" : "FAILED"}`);
  return ok;
}

module.exports = { FINAL, allRuns, counts, report };
