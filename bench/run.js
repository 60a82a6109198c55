// `npm run bench`: every workload, ours against the Node-RED way, in the same run. Each
// measurement runs in a process of its own (a Node-RED runtime is a singleton); modes
// alternate so drift on the machine hits both. Prints ratios and writes bench/results.json.
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const MESSAGES = Number(process.env.BENCH_MESSAGES || 10000);

function measure(mode) {
  const out = execFileSync(process.execPath, [path.join(__dirname, "tracking.js"), mode, String(MESSAGES)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const off = [];
const noop = [];
const on = [];
for (let i = 0; i < ROUNDS; i++) {
  off.push(measure("off"));
  noop.push(measure("noop"));
  on.push(measure("on"));
}
const noopMs = median(noop.map((r) => r.ms));
const offMs = median(off.map((r) => r.ms));
const onMs = median(on.map((r) => r.ms));
const tracking = {
  workload: `${MESSAGES} messages, each its own run, through a trigger and 10 nodes (9 change + 1 function), sent at once`,
  messagesPerSecondUntracked: Math.round((MESSAGES / offMs) * 1000),
  messagesPerSecondTracked: Math.round((MESSAGES / onMs) * 1000),
  overheadPercent: Math.round(((onMs - offMs) / offMs) * 100),
  /** Five hooks that do nothing: the floor any hook-based tracking starts from. */
  hookMachineryOverheadPercent: Math.round(((noopMs - offMs) / offMs) * 100),
  target: "under 25%",
  peakHeapMBUntracked: Math.max(...off.map((r) => r.heapMB)),
  peakHeapMBTracked: Math.max(...on.map((r) => r.heapMB)),
  rounds: ROUNDS,
  measuredAt: new Date().toISOString(),
  node: process.version,
};

const file = path.join(__dirname, "results.json");
const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
results["runs-tracking"] = tracking;
fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");

console.log("run tracking overhead");
console.log(`  untracked: ${tracking.messagesPerSecondUntracked} runs/s   tracked: ${tracking.messagesPerSecondTracked} runs/s`);
console.log(`  overhead: ${tracking.overheadPercent}% (target ${tracking.target}; Node-RED's hooks alone: ${tracking.hookMachineryOverheadPercent}%)   heap: ${tracking.peakHeapMBUntracked} MB -> ${tracking.peakHeapMBTracked} MB`);
console.log(`written to ${path.relative(process.cwd(), file)}`);
