// The soak's overlap scenario (`npm run soak -- overlap`): 20,000 runs started through the
// manual route (POST /pw/trigger/<id>), 20 requests at a time, each holding its message at
// the same function node for 20–110 ms while up to 20 runs (the default maxConcurrent) are
// there together. Every 10th run fails, four ways in turn: thrown by the input handler,
// node.error(text, msg) from a timer, done(err), node.error(Error, msg). Prints the runs, the
// failed ones and the misattributed ones: a failing run without exactly its own error, or a
// run that should succeed with any error or another status. maxQueued and maxRuns are raised
// so the 20,000 may all wait and all be kept; a 429 is still counted and sent again.
//   SOAK_RUNS (20000), SOAK_PARALLEL (20)
const { startRuntime } = require("../test/support/runtime");
const { waitUntil } = require("../test/support/wait");
const { FINAL, allRuns, counts, report } = require("./soak-lib");

const RUNS = Number(process.env.SOAK_RUNS || 20000);
const PARALLEL = Number(process.env.SOAK_PARALLEL || 20);

// As test/runtime/run_truth_spec.js: every run waits at the node; every 10th fails, four ways.
const func = `
  const i = msg.payload.i;
  const wait = 20 + (i % 7) * 15;
  if (i % 10 !== 0) { setTimeout(() => { node.send(msg); node.done(); }, wait); return; }
  const way = (i / 10) % 4;
  if (way === 0) throw new Error("thrown for " + i);
  if (way === 1) { setTimeout(() => { node.error("logged for " + i, msg); node.done(); }, wait); return; }
  if (way === 2) { setTimeout(() => node.done(new Error("done(err) for " + i)), wait); return; }
  setTimeout(() => { node.error(new Error("error object for " + i), msg); node.done(); }, wait);
`;
const WAYS = ["thrown", "node.error(text, msg)", "done(err)", "node.error(Error, msg)"];

async function main() {
  const seen = [];
  const rt = await startRuntime({
    functionGlobalContext: { seen },
    patchworks: { runs: { maxQueued: RUNS + 1000, maxRuns: RUNS * 2 } },
  });
  await rt.deploy([
    { id: "tab", type: "tab", label: "Overlap" },
    { id: "trig1", type: "pw-trigger", z: "tab", name: "start", schedules: [], wires: [["work"]] },
    { id: "work", type: "function", z: "tab", func, outputs: 1, wires: [["sink"]] },
    {
      id: "sink",
      type: "function",
      z: "tab",
      func: "global.get('seen').push(msg.payload.i); return null;",
      outputs: 0,
      wires: [],
    },
  ]);
  console.log(`overlap: ${RUNS} runs, ${PARALLEL} requests at a time, every 10th failing`);
  const started = Date.now();
  const indexOf = new Map();
  let refused = 0;
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      const i = next++;
      for (;;) {
        const r = await rt.api("POST", "/pw/trigger/trig1", { i });
        if (r.status === 200) {
          indexOf.set(r.json.run.id, i);
          break;
        }
        if (r.status !== 429) throw new Error(`POST /pw/trigger: ${r.status} ${r.text}`);
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const acceptedAt = Date.now();
  let runs = [];
  await waitUntil(
    async () => {
      runs = await allRuns(rt.url, "trig1");
      return runs.length >= indexOf.size && runs.every((r) => FINAL(r.status));
    },
    "the runs to end",
    600000,
    1000,
  ).catch(() => undefined);
  const endedAt = Date.now();

  const wrong = [];
  const failedBy = WAYS.map(() => 0);
  for (const run of runs) {
    const i = indexOf.get(run.id);
    if (i === undefined) {
      wrong.push(`${run.id}: not started by the soak`);
      continue;
    }
    const bad = i % 10 === 0;
    if (bad) {
      if (run.status !== "failed" || run.errors.length !== 1 || !run.errors[0].message.endsWith(` for ${i}`))
        wrong.push(`${i}: ${run.status} ${JSON.stringify(run.errors.map((e) => e.message))}`);
      else failedBy[(i / 10) % 4]++;
    } else if (run.status !== "succeeded" || run.errors.length)
      wrong.push(`${i}: ${run.status} ${JSON.stringify(run.errors.map((e) => e.message))}`);
  }
  const recorded = new Set(runs.map((r) => r.id));
  const missing = [...indexOf.keys()].filter((id) => !recorded.has(id));
  const seenTwice = [...counts(seen).values()].filter((n) => n > 1).length;
  if (wrong.length) console.log(`misattributed, the first: ${wrong.slice(0, 5).join("; ")}`);
  const ok = report("overlap", [
    ["runs started", indexOf.size],
    ["  answered 429 and sent again", refused],
    ["runs recorded, ended", runs.filter((r) => FINAL(r.status)).length],
    ["  succeeded", runs.filter((r) => r.status === "succeeded").length],
    ["  failed", runs.filter((r) => r.status === "failed").length],
    ...WAYS.map((way, k) => [`    by ${way}, with its own error only`, failedBy[k]]),
    ["misattributed", wrong.length, true],
    ["started but not recorded", missing.length, true],
    ["reached the sink", seen.length],
    ["reached the sink twice", seenTwice, true],
    ["seconds: all runs accepted", (acceptedAt - started) / 1000],
    ["seconds: all runs ended", (endedAt - started) / 1000],
    ["runs per second", Math.round(runs.length / ((endedAt - started) / 1000))],
  ]);
  await rt.stop();
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
