// The scale-out workload (issue 19): the same webhook-driven flow, a little CPU work per run
// (a 2 ms busy loop, as a mapping of a big order would take), on 1, 2 and 4 Node-RED workers
// sharing one Redis (patchworks.scaleOut), and on one embedded runtime (the default mode) for
// comparison. Every worker is a process of its own (test/support/child-runtime.js); the load is
// spread over them round-robin, as a load balancer would, 32 requests in flight. A run is done
// when its last node has written its end (the `sink` global, one line per run with the time).
// Prints one JSON line:
//   node bench/scale-out.js [runs] [workerCounts, e.g. 1,2,4]
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");
const { startRedis } = require("../test/support/redis");
const { waitUntil } = require("../test/support/wait");

const child = path.join(__dirname, "..", "test", "support", "child-runtime.js");
const RUNS = Number(process.argv[2] || 600);
const COUNTS = (process.argv[3] || "1,2,4").split(",").map(Number);
const PARALLEL = 32;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS = 100;
const CPU_MS = Number(process.env.BENCH_SCALE_CPU_MS ?? 2);

const flows = [
  { id: "b", type: "tab", label: "bench" },
  {
    id: "hook",
    type: "pw-trigger",
    z: "b",
    name: "orders in",
    schedules: [],
    webhook: true,
    path: "/work",
    methods: "POST",
    replyBody: '{"run":"{{run.id}}"}',
    wires: [["cpu"]],
  },
  {
    id: "cpu",
    type: "function",
    z: "b",
    func: `const t = Date.now(); let x = 0; while (Date.now() - t < ${CPU_MS}) x++; msg.spun = x; return msg;`,
    outputs: 1,
    wires: [["done"]],
  },
  {
    id: "done",
    type: "function",
    z: "b",
    func: "global.get('sink')(msg.pw.run.id + ' ' + Date.now()); return null;",
    outputs: 0,
    wires: [],
  },
];

async function startWorker(name, scaleOut) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `pw-bench-scale-${name}-`));
  fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flows));
  const settings = { patchworks: { runs: { maxConcurrent: PARALLEL, maxQueued: 100000, settleMs: 20 } } };
  if (scaleOut) settings.patchworks.scaleOut = { ...scaleOut, workerId: name };
  const proc = spawn(process.execPath, [child, userDir, JSON.stringify(settings)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  const url = await waitUntil(() => /listening (\S+)/.exec(out)?.[1], `worker ${name} (${out})`, 60000, 50);
  await waitUntil(
    async () => (await fetch(`${url}/hooks/work`).catch(() => ({ status: 0 }))).status === 405,
    `worker ${name}'s webhook`,
    30000,
    50,
  );
  return {
    url,
    /** CPU time the worker process has used (user + system), in ms, from /proc (Linux). */
    cpuMs() {
      const fields = fs.readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1].split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
    },
    ends() {
      const file = path.join(userDir, "sink.txt");
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" "));
    },
    async stop() {
      proc.kill("SIGKILL");
      await exited;
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Sends `count` webhooks round-robin over the workers, `parallel` in flight; the send time of each run. */
async function load(workers, count, parallel) {
  const sentAt = new Map();
  let next = 0;
  const one = async () => {
    while (next < count) {
      const n = next++;
      const w = workers[n % workers.length];
      const at = Date.now();
      const res = await fetch(`${w.url}/hooks/work`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ order: n, lines: [{ sku: "A", qty: 2 }] }),
      });
      const body = await res.json();
      if (res.ok) sentAt.set(body.run, at);
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
  return sentAt;
}

async function waitEnds(workers, ids) {
  const ends = new Map();
  await waitUntil(
    () => {
      for (const w of workers) for (const [id, at] of w.ends()) ends.set(id, Number(at));
      return ids.every((id) => ends.has(id));
    },
    "every run to end",
    180000,
    50,
  );
  return ends;
}

/** Throughput with `parallel` in flight, and the latency of runs sent one at a time. */
async function measure(workers, tag, redisCpuMs = async () => 0) {
  // Warm-up: JIT, connections, the first deploy's work.
  await waitEnds(workers, [...(await load(workers, 100, PARALLEL)).keys()]);
  const cpuBefore = workers.reduce((n, w) => n + w.cpuMs(), 0);
  const redisBefore = await redisCpuMs();
  const started = Date.now();
  const sent = await load(workers, RUNS, PARALLEL);
  const ends = await waitEnds(workers, [...sent.keys()]);
  const workerCpuMs = workers.reduce((n, w) => n + w.cpuMs(), 0) - cpuBefore;
  const redisCpu = (await redisCpuMs()) - redisBefore;
  const last = Math.max(...[...sent.keys()].map((id) => ends.get(id)));
  const runsPerSecond = (RUNS / (last - started)) * 1000;
  // One at a time: from sending the webhook to the run's last node, nothing else going on.
  const lat = [];
  for (let i = 0; i < 40; i++) {
    const one = await load(workers, 1, 1);
    const [[id, at]] = [...one];
    const end = (await waitEnds(workers, [id])).get(id);
    lat.push(end - at);
  }
  lat.sort((a, b) => a - b);
  return {
    tag,
    workers: workers.length,
    runsPerSecond: Math.round(runsPerSecond),
    runsPerSecondPerWorker: Math.round(runsPerSecond / workers.length),
    latencyMs: { p50: lat[Math.floor(lat.length / 2)], p90: lat[Math.floor(lat.length * 0.9)] },
    // CPU per run does not depend on what else the machine is doing, unlike runs per second.
    cpuMsPerRun: {
      workers: Math.round((workerCpuMs / RUNS) * 100) / 100,
      redis: Math.round((redisCpu / RUNS) * 100) / 100,
    },
  };
}

async function main() {
  const loadBefore = os.loadavg()[0];
  const results = [];
  {
    const w = await startWorker("embedded");
    try {
      results.push(await measure([w], "embedded"));
    } finally {
      await w.stop();
    }
  }
  for (const n of COUNTS) {
    // With an append-only file (fsync every second), as docs/scale-out.md asks for.
    const redis = await startRedis({ persist: true });
    const scaleOut = { redis: redis.url, prefix: `bench${n}`, leaseMs: 10000 };
    const workers = await Promise.all(
      Array.from({ length: n }, (_, i) => startWorker(`w${i + 1}`, scaleOut)),
    );
    try {
      const { connectRedis } = require("../dist/lib/scale/redis");
      const info = connectRedis({ host: "127.0.0.1", port: redis.port, db: 0, tls: false }, "bench");
      const redisCpuMs = async () => {
        const text = await info.info("cpu");
        const sec = (k) => Number(new RegExp(`${k}:([0-9.]+)`).exec(text)?.[1] ?? 0);
        return (sec("used_cpu_user") + sec("used_cpu_sys")) * 1000;
      };
      try {
        results.push(await measure(workers, "redis", redisCpuMs));
      } finally {
        info.disconnect();
      }
    } finally {
      for (const w of workers) await w.stop();
      await redis.close();
    }
  }
  console.log(
    JSON.stringify({
      runs: RUNS,
      parallel: PARALLEL,
      cpuMsPerRun: CPU_MS,
      cores: os.cpus().length,
      // Other work on the machine skews every figure: the load average before and after says how much.
      loadAverage: { before: loadBefore, after: os.loadavg()[0] },
      results,
    }),
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
