// `npm run soak`: issue 12's fault scenarios at full size, each in a process of its own
// (Node-RED is a singleton), one after another; each prints its figures and exits non-zero
// when a figure that must be 0 is not.
//   pull     20,000 records pulled and sent on, 30% of upstream requests failing (soak-pull.js)
//   burst    2,000 webhooks, 50 at a time, default settings; 429s retried (soak-burst.js)
//   crash    kill -9 during a burst of 2,000 webhooks, restart on the same user dir (soak-crash.js)
//   overlap  20,000 overlapping runs, every 10th failing four ways (soak-overlap.js)
// `npm run soak -- burst crash` (or SOAK_ONLY=burst,crash) runs only those.
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const SCENARIOS = {
  pull: "soak-pull.js",
  burst: "soak-burst.js",
  crash: "soak-crash.js",
  overlap: "soak-overlap.js",
};
const picked = process.argv.slice(2).length
  ? process.argv.slice(2)
  : (process.env.SOAK_ONLY || Object.keys(SCENARIOS).join(",")).split(",").filter(Boolean);
const unknown = picked.filter((name) => !SCENARIOS[name]);
if (unknown.length) {
  console.error(`soak: no scenario ${unknown.join(", ")}; there are ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}

const results = [];
for (const name of picked) {
  console.log(`\n== soak: ${name} ==`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(__dirname, SCENARIOS[name])], { stdio: "inherit" });
  results.push({
    name,
    ok: r.status === 0,
    code: r.status ?? r.signal,
    seconds: (Date.now() - started) / 1000,
  });
}
console.log("\n== soak ==");
for (const r of results)
  console.log(
    `${r.name.padEnd(8)} ${(r.ok ? "OK" : `FAILED (${r.code})`).padEnd(12)} ${r.seconds.toFixed(0)} s`,
  );
process.exit(results.every((r) => r.ok) ? 0 : 1);
