// `npm test` (after the build): every mocha group, each in its own process where a group
// needs a runtime of its own, then one closing "N passed, N failed" line for them all.
//   node scripts/test.js [group ...]   groups: unit security runtime package editor (default: all)
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");

const root = path.join(__dirname, "..");
const mocha = require.resolve("mocha/bin/mocha.js");
const reporter = path.join(root, "test", "support", "reporter.js");
const specs = (dir) =>
  fs.existsSync(path.join(root, "test", dir))
    ? fs
        .readdirSync(path.join(root, "test", dir))
        .filter((f) => f.endsWith("_spec.js"))
        .sort()
        .map((f) => path.join("test", dir, f))
    : [];

// unit: engine and node-helper specs share one process; runtime, package and editor specs
// start a real Node-RED (a singleton), so each file gets a process of its own. Security specs
// mix both kinds and check process-wide state (Object.prototype): a process per file too.
const groups = {
  unit: [[...specs("lib"), ...specs("nodes")]],
  security: specs("security").map((f) => [f]),
  runtime: specs("runtime").map((f) => [f]),
  package: specs("package").map((f) => [f]),
  editor: specs("editor").map((f) => [f]),
};

// Runtime specs mostly wait (on timers, sockets, child processes): two run at once, each
// printed whole when it ends. PW_TEST_JOBS=1 runs them one by one.
const JOBS = { runtime: Math.max(1, Number(process.env.PW_TEST_JOBS ?? 2)) };

/** One mocha process over `files`; resolves to its stats and whether it passed. */
function runFiles(name, files, inherit) {
  const statsFile = path.join(os.tmpdir(), `pw-stats-${process.pid}-${Date.now()}-${Math.random()}.json`);
  const timeout = name === "unit" || name === "security" ? "10000" : "60000";
  const child = spawn(
    process.execPath,
    [mocha, "--reporter", reporter, "--timeout", timeout, "--exit", ...files],
    {
      cwd: root,
      stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"],
      env: { ...process.env, PW_STATS_FILE: statsFile },
    },
  );
  const out = [];
  if (!inherit) {
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => out.push(d));
  }
  return new Promise((resolve) =>
    child.on("close", (status) => {
      if (!inherit) process.stdout.write(Buffer.concat(out));
      let stats;
      try {
        stats = JSON.parse(fs.readFileSync(statsFile, "utf8"));
        fs.rmSync(statsFile);
      } catch {
        stats = { passes: 0, failures: 1, pending: 0 };
      }
      resolve({ files, stats, ok: status === 0 && stats.failures === 0 });
    }),
  );
}

async function main() {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(groups);
  const total = { passes: 0, failures: 0, pending: 0 };
  const failedRuns = [];
  for (const name of wanted) {
    if (!groups[name]) {
      console.error(`unknown test group "${name}"; use: ${Object.keys(groups).join(" ")}`);
      process.exit(2);
    }
    const queue = groups[name].filter((files) => files.length);
    const jobs = JOBS[name] ?? 1;
    const worker = async () => {
      while (queue.length) {
        const { files, stats, ok } = await runFiles(name, queue.shift(), jobs === 1);
        total.passes += stats.passes;
        total.failures += stats.failures;
        total.pending += stats.pending;
        if (!ok) failedRuns.push(files.join(" "));
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
  }
  if (failedRuns.length) console.log(`\nFailed: ${failedRuns.join("; ")}`);
  console.log(
    `\n${total.passes} passed, ${total.failures} failed${total.pending ? `, ${total.pending} skipped` : ""}`,
  );
  process.exit(failedRuns.length ? 1 : 0);
}

main();
