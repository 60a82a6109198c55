// `npm run bench`: every workload, ours against the Node-RED way, in the same run. Each
// measurement runs in a process of its own (a Node-RED runtime is a singleton); modes
// alternate so drift on the machine hits both. Prints ratios and writes bench/results.json.
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const MESSAGES = Number(process.env.BENCH_MESSAGES || 10000);

function measure(mode, windowSize, flow) {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", path.join(__dirname, "tracking.js"), mode, String(MESSAGES), String(windowSize), flow],
    { encoding: "utf8" },
  );
  return JSON.parse(out.trim().split("\n").pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Tracking on, off, and Node-RED's hooks alone, for one flow and one way of sending the
 * messages. Each process reports its quickest round; the median of the processes is taken.
 */
function trackingWorkload(flow, windowSize, description) {
  const off = [];
  const noop = [];
  const on = [];
  for (let i = 0; i < ROUNDS; i++) {
    off.push(measure("off", windowSize, flow));
    noop.push(measure("noop", windowSize, flow));
    on.push(measure("on", windowSize, flow));
  }
  const offMs = median(off.map((r) => r.ms));
  const noopMs = median(noop.map((r) => r.ms));
  const onMs = median(on.map((r) => r.ms));
  return {
    workload: `${MESSAGES} messages ${description}`,
    messagesPerSecondUntracked: Math.round((MESSAGES / offMs) * 1000),
    messagesPerSecondTracked: Math.round((MESSAGES / onMs) * 1000),
    /** What tracking adds per message, in microseconds. */
    microsecondsAddedPerMessage: round(((onMs - offMs) * 1000) / MESSAGES),
    overheadPercent: Math.round(((onMs - offMs) / offMs) * 100),
    /** The same three hooks doing nothing: the floor any hook-based tracking starts from. */
    hookMachineryOverheadPercent: Math.round(((noopMs - offMs) / offMs) * 100),
    target: "under 25%",
    /** Heap left after a full collection once the last round is done (the run store's index, for one). */
    retainedHeapMBUntracked: Math.max(...off.map((r) => r.retainedMB)),
    retainedHeapMBTracked: Math.max(...on.map((r) => r.retainedMB)),
    rounds: ROUNDS,
    measuredAt: new Date().toISOString(),
    node: process.version,
  };
}

/** Route, filter and flow control against Node-RED's core chain and a plain loop (one process, rounds inside). */
function flowShapes() {
  const records = Number(process.env.BENCH_RECORDS || 100000);
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", path.join(__dirname, "flow-shapes.js"), String(records), String(ROUNDS)],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  const { ms } = JSON.parse(out.trim().split("\n").pop());
  const perSecond = (t) => Math.round((records / t) * 1000);
  const entry = (key, workload, core, loop, targets) => ({
    workload,
    records,
    ms: { ours: round(ms[key].ours), coreChain: round(ms[key].core), plainLoop: round(ms[key].loop) },
    recordsPerSecond: {
      ours: perSecond(ms[key].ours),
      coreChain: perSecond(ms[key].core),
      plainLoop: perSecond(ms[key].loop),
    },
    timesFasterThanCoreChain: round(ms[key].core / ms[key].ours),
    timesThePlainLoop: round(ms[key].ours / ms[key].loop, 2),
    coreChain: core,
    plainLoop: loop,
    targets,
    rounds: ROUNDS,
    measuredAt: new Date().toISOString(),
    node: process.version,
  });
  return {
    route: entry(
      "route",
      `${records} records in one message through pw-route: 3 routes (country, total > 500, channel) and otherwise, first match`,
      "split (one record per message) → switch (3 JSONata rules + otherwise, stop at first match) → sinks",
      "a function node looping over the records and sending each output with node.send(…, false)",
      "at least 100× the core chain, within 2× of the plain loop",
    ),
    filter: entry(
      "filter",
      `${records} records in one message through pw-filter: status equals paid, removed records to a second output`,
      "split (one record per message) → switch (payload.status == paid, otherwise) → sinks",
      "a function node partitioning the records and sending both lists with node.send(…, false)",
      "at least 100× the core chain, within 2× of the plain loop",
    ),
    "flow-control": entry(
      "batch",
      `${records} records in one message through pw-flow-control: batches of 100`,
      "split node with array split = 100",
      "a function node slicing batches of 100 and sending each with node.send(…, false), no cloning",
      "within 2× of the plain slice loop",
    ),
  };
}

const round = (x, places = 1) => Math.round(x * 10 ** places) / 10 ** places;

/** The map workload: ours, the core chain and the plain loop, each in its own process for its peak memory. */
function mapWorkload() {
  const records = Number(process.env.BENCH_RECORDS || 100000);
  const run = (kind, rounds) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ["--expose-gc", path.join(__dirname, "map.js"), kind, String(records), String(rounds)],
        { encoding: "utf8", maxBuffer: 1 << 20 },
      )
        .trim()
        .split("\n")
        .pop(),
    );
  const ours = run("ours", ROUNDS);
  const loop = run("loop", ROUNDS);
  // The core chain takes seconds a round; one round after the warm-up says enough.
  const core = run("core", 1);
  const perSecond = (ms) => Math.round((records / ms) * 1000);
  return {
    workload: `${records} order-like records (id, created_at, customer, 3 line items, total_price as text, tags) mapped to a HubSpot-like contact/deal (email, firstname, lastname, amount as a number, closedate as epoch ms, SKUs joined)`,
    records,
    recordsPerSecond: {
      ours: perSecond(ours.ms),
      coreChain: perSecond(core.ms),
      plainLoop: perSecond(loop.ms),
    },
    ms: { ours: round(ours.ms), coreChain: round(core.ms), plainLoop: round(loop.ms) },
    timesFasterThanCoreChain: round(core.ms / ours.ms),
    timesThePlainLoop: round(ours.ms / loop.ms, 2),
    peakRssMB: { ours: ours.peakRssMB, coreChain: core.peakRssMB, plainLoop: loop.peakRssMB },
    outputArrayMB: ours.outputMB,
    coreChain: "split (one record per message) → change (JSONata) → join",
    plainLoop: "a function node: msg.payload.map(…) written by hand",
    targets:
      "at least 30× the core chain, within 1.5× of the plain loop, peak memory no more than the plain loop's plus the output array",
    rounds: ROUNDS,
    measuredAt: new Date().toISOString(),
    node: process.version,
  };
}

/**
 * Webhook intake: a burst of webhooks from another process on loopback, 50 at a time, at the
 * default settings (durable acknowledgement, 20 runs at once, 429 when 1,000 wait; refused
 * webhooks are sent again after 100 ms), against Node-RED's http in → change → http response.
 */
function intakeWorkload() {
  const requests = Number(process.env.BENCH_INTAKE_REQUESTS || 10000);
  const run = (mode) =>
    JSON.parse(
      execFileSync(process.execPath, [path.join(__dirname, "intake.js"), mode, String(requests), "50"], {
        encoding: "utf8",
        maxBuffer: 1 << 20,
      })
        .trim()
        .split("\n")
        .pop(),
    );
  const ours = [];
  const core = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(run("ours"));
    core.push(run("core"));
  }
  const mid = (list, key) => median(list.map((r) => r[key]));
  const oursPerSecond = mid(ours, "completedPerSecond");
  const corePerSecond = mid(core, "completedPerSecond");
  return {
    workload: `${requests} webhooks posted 50 at a time from another process on loopback: a pw-trigger webhook (answered once its run is on disk) → one change node, default settings; core: http in → change → http response`,
    runsCompletedPerSecond: { ours: oursPerSecond, core: corePerSecond },
    timesCore: round(oursPerSecond / corePerSecond, 2),
    ackMs: {
      ours: { p50: mid(ours, "ackP50Ms"), p99: mid(ours, "ackP99Ms") },
      core: { p50: mid(core, "ackP50Ms"), p99: mid(core, "ackP99Ms") },
    },
    acknowledged: Math.min(...ours.map((r) => r.acknowledged)),
    recorded: Math.min(...ours.map((r) => r.recorded)),
    refused429: Math.max(...ours.map((r) => r.statuses["429"] ?? 0)),
    cpuMsPerRun: { ours: mid(ours, "cpuMsPerRun"), core: mid(core, "cpuMsPerRun") },
    target:
      "≥ 1,000 runs/s completed on 2 cores, p99 acknowledgement < 250 ms, every acknowledged run recorded",
    rounds: ROUNDS,
    measuredAt: new Date().toISOString(),
    node: process.version,
  };
}

/** De-dupe: 100,000 keys against a pool of 1,000,000 (one process, rounds inside), against a plain Set. */
function dedupeWorkload() {
  const poolKeys = Number(process.env.BENCH_DEDUPE_POOL || 1000000);
  const checked = Number(process.env.BENCH_DEDUPE_KEYS || 100000);
  const r = JSON.parse(
    execFileSync(
      process.execPath,
      ["--expose-gc", path.join(__dirname, "dedupe.js"), String(poolKeys), String(checked), String(ROUNDS)],
      { encoding: "utf8", maxBuffer: 1 << 20 },
    )
      .trim()
      .split("\n")
      .pop(),
  );
  return {
    workload: `${checked} keys (half seen before) checked and the new ones tracked against a de-dupe pool of ${poolKeys}, the new keys appended to the pool's log and synced to disk before the records would go on`,
    ms: { ours: round(r.ms.ours), filterOnly: round(r.ms.filterOnly), plainSet: round(r.ms.plainSet) },
    timesThePlainSet: round(r.ms.ours / r.ms.plainSet, 2),
    heapMBPerMillionKeys: r.heapMBPerMillionKeys,
    logMBForPool: r.logMB,
    reloadMsAfterRestart: r.loadMs,
    plainSet: "a JavaScript Set of the same keys in memory: has() then add() per key, nothing written",
    target: "well under a second for 100,000 keys against 1,000,000",
    rounds: ROUNDS,
    measuredAt: new Date().toISOString(),
    node: process.version,
  };
}

/**
 * Scale-out (issue 19): the same webhook flow with 2 ms of CPU work per run on one embedded
 * runtime and on 1, 2 and 4 workers sharing a Redis (bench/scale-out.js).
 */
function scaleOutWorkload() {
  const runs = Number(process.env.BENCH_SCALE_RUNS || 600);
  const r = JSON.parse(
    execFileSync(process.execPath, [path.join(__dirname, "scale-out.js"), String(runs), "1,2,4"], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    })
      .trim()
      .split("\n")
      .pop(),
  );
  const embedded = r.results.find((x) => x.tag === "embedded");
  const scaled = r.results.filter((x) => x.tag === "redis");
  const one = scaled.find((x) => x.workers === 1);
  return {
    workload: `${runs} webhooks, ${r.parallel} in flight, spread round-robin over the workers; each run spins ${r.cpuMsPerRun} ms of CPU in a function node; Node-RED workers in processes of their own sharing one local redis-server`,
    cores: r.cores,
    loadAverage: r.loadAverage,
    embedded: {
      runsPerSecond: embedded.runsPerSecond,
      latencyMs: embedded.latencyMs,
      cpuMsPerRun: embedded.cpuMsPerRun.workers,
    },
    workers: scaled.map((x) => ({
      workers: x.workers,
      runsPerSecond: x.runsPerSecond,
      runsPerSecondPerWorker: x.runsPerSecondPerWorker,
      ratioToOneWorker: round(x.runsPerSecond / one.runsPerSecond, 2),
      latencyMs: x.latencyMs,
      cpuMsPerRun: x.cpuMsPerRun,
      /** Runs per second if each worker had a core of its own and Redis one more: from CPU per run, not wall time. */
      projectedRunsPerSecondOnOwnCores: Math.round(
        Math.min(
          (x.workers * 1000) / x.cpuMsPerRun.workers,
          x.cpuMsPerRun.redis > 0 ? 1000 / x.cpuMsPerRun.redis : Infinity,
        ),
      ),
    })),
    /** What the shared queue and run log cost in CPU per run, workers and Redis together, over the embedded mode. */
    cpuMsAddedPerRunByRedis: round(
      one.cpuMsPerRun.workers + one.cpuMsPerRun.redis - embedded.cpuMsPerRun.workers,
      2,
    ),
    /** What the shared queue and run log add to one run, sent alone, against the embedded mode (p50). */
    latencyAddedByRedisMs: one.latencyMs.p50 - embedded.latencyMs.p50,
    note: `${r.cores} cores: the workers, redis-server and the load generator share them, so 2 workers can at best double one and 4 cannot beat 2; the ratio shows what the shared queue costs, not how far it scales (a core per worker, or several machines, is needed for that)`,
    measuredAt: new Date().toISOString(),
    node: process.version,
  };
}

const file = path.join(__dirname, "results.json");
const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
const only = process.env.BENCH_ONLY;
if (!only || only === "tracking") {
  results["runs-tracking"] = trackingWorkload(
    "one-run",
    0,
    "in one run (a pull split into records): the trigger's first node sends them all at once through 8 core change nodes and a function node; tracking's cost per message",
  );
  results["runs-tracking-runs"] = trackingWorkload(
    "chain",
    100,
    "each its own run (10,000 runs), through 9 core change nodes setting a constant and a function node (the cheapest flow there is, a few µs per node), 100 runs in flight at a time: tracking's cost per run, worst case",
  );
  results["runs-tracking-burst"] = trackingWorkload(
    "chain",
    0,
    "each its own run, through the same cheapest flow, all sent at once (every run live together)",
  );
  results["runs-tracking-orders"] = trackingWorkload(
    "orders",
    100,
    "each its own run: a Shopify-like order (a webhook's) through filter, map, set variables, route, change, function, template, JSON, change and function nodes, 100 runs in flight at a time",
  );
  delete results["runs-tracking-steady"];
}
if (!only || only === "shapes") Object.assign(results, flowShapes());
if (!only || only === "map") results.map = mapWorkload();
if (!only || only === "intake") results["runs-intake"] = intakeWorkload();
if (!only || only === "dedupe") results.dedupe = dedupeWorkload();
if (!only || only === "scale-out") results["scale-out"] = scaleOutWorkload();
fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");

if (results.map) {
  const m = results.map;
  console.log(`map: ${m.workload}`);
  console.log(
    `  ours ${m.recordsPerSecond.ours} records/s, core chain ${m.recordsPerSecond.coreChain}, plain loop ${m.recordsPerSecond.plainLoop}: ${m.timesFasterThanCoreChain}× the core chain, ${m.timesThePlainLoop}× the plain loop's time; peak RSS ${m.peakRssMB.ours} MB (plain loop ${m.peakRssMB.plainLoop} MB, output array ${m.outputArrayMB} MB)`,
  );
}
for (const key of ["route", "filter", "flow-control"]) {
  const r = results[key];
  if (!r) continue;
  console.log(`${key}: ${r.workload}`);
  console.log(
    `  ours ${r.ms.ours} ms, core chain ${r.ms.coreChain} ms, plain loop ${r.ms.plainLoop} ms: ${r.timesFasterThanCoreChain}× the core chain, ${r.timesThePlainLoop}× the plain loop's time (target: ${r.targets})`,
  );
}
for (const key of ["runs-tracking", "runs-tracking-runs", "runs-tracking-burst", "runs-tracking-orders"]) {
  const r = results[key];
  if (!r) continue;
  console.log(`${key}: ${r.workload}`);
  console.log(
    `  untracked: ${r.messagesPerSecondUntracked} messages/s   tracked: ${r.messagesPerSecondTracked} messages/s   (+${r.microsecondsAddedPerMessage} µs per message)`,
  );
  console.log(
    `  overhead: ${r.overheadPercent}% (target ${r.target}; Node-RED's hooks alone: ${r.hookMachineryOverheadPercent}%)   retained heap: ${r.retainedHeapMBUntracked} MB -> ${r.retainedHeapMBTracked} MB`,
  );
}
if (results["runs-intake"]) {
  const r = results["runs-intake"];
  console.log(`runs-intake: ${r.workload}`);
  console.log(
    `  ours ${r.runsCompletedPerSecond.ours} runs/s completed (${r.timesCore}× core's ${r.runsCompletedPerSecond.core} requests/s), ack p50 ${r.ackMs.ours.p50} ms p99 ${r.ackMs.ours.p99} ms (core ${r.ackMs.core.p50}/${r.ackMs.core.p99} ms), ${r.acknowledged} acknowledged, ${r.recorded} recorded, ${r.refused429} answered 429 first (target: ${r.target})`,
  );
}
if (results.dedupe) {
  const r = results.dedupe;
  console.log(`dedupe: ${r.workload}`);
  console.log(
    `  ours ${r.ms.ours} ms (check only ${r.ms.filterOnly} ms), plain Set ${r.ms.plainSet} ms: ${r.timesThePlainSet}× the Set's time; heap per million keys ${r.heapMBPerMillionKeys.ours} MB (Set ${r.heapMBPerMillionKeys.plainSet} MB); log ${r.logMBForPool} MB, read back in ${r.reloadMsAfterRestart} ms after a restart (target: ${r.target})`,
  );
}
if (results["scale-out"]) {
  const r = results["scale-out"];
  console.log(`scale-out: ${r.workload}`);
  console.log(
    `  embedded (one process, no Redis): ${r.embedded.runsPerSecond} runs/s, one run alone p50 ${r.embedded.latencyMs.p50} ms, ${r.embedded.cpuMsPerRun} ms CPU per run`,
  );
  for (const w of r.workers)
    console.log(
      `  ${w.workers} worker(s) on Redis: ${w.runsPerSecond} runs/s, ${w.runsPerSecondPerWorker} per worker, ${w.ratioToOneWorker}× one worker; one run alone p50 ${w.latencyMs.p50} ms; CPU per run ${w.cpuMsPerRun.workers} ms in workers + ${w.cpuMsPerRun.redis} ms in Redis (on a core per worker: ~${w.projectedRunsPerSecondOnOwnCores} runs/s)`,
    );
  console.log(
    `  Redis adds ${r.latencyAddedByRedisMs} ms to a run sent alone (p50) and ${r.cpuMsAddedPerRunByRedis} ms of CPU per run. ${r.note}`,
  );
  console.log(
    `  load average during the run: ${r.loadAverage.before.toFixed(1)} → ${r.loadAverage.after.toFixed(1)}`,
  );
}
console.log(`written to ${path.relative(process.cwd(), file)}`);
