// `npm test` (after the build): every mocha group, each in its own process where a group
// needs a runtime of its own, then one closing "N passed, N failed" line for them all.
//   node scripts/test.js [group ...]   groups: unit security runtime package editor (default: all)
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

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

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(groups);
const total = { passes: 0, failures: 0, pending: 0 };
const failedRuns = [];
for (const name of wanted) {
  if (!groups[name]) {
    console.error(`unknown test group "${name}"; use: ${Object.keys(groups).join(" ")}`);
    process.exit(2);
  }
  for (const files of groups[name]) {
    if (files.length === 0) continue;
    const statsFile = path.join(os.tmpdir(), `pw-stats-${process.pid}-${Date.now()}.json`);
    const timeout = name === "unit" || name === "security" ? "10000" : "60000";
    const result = spawnSync(
      process.execPath,
      [mocha, "--reporter", reporter, "--timeout", timeout, "--exit", ...files],
      { cwd: root, stdio: "inherit", env: { ...process.env, PW_STATS_FILE: statsFile } },
    );
    let stats;
    try {
      stats = JSON.parse(fs.readFileSync(statsFile, "utf8"));
      fs.rmSync(statsFile);
    } catch {
      stats = { passes: 0, failures: 1, pending: 0 };
    }
    total.passes += stats.passes;
    total.failures += stats.failures;
    total.pending += stats.pending;
    if (result.status !== 0 || stats.failures > 0) failedRuns.push(files.join(" "));
  }
}
if (failedRuns.length) console.log(`\nFailed: ${failedRuns.join("; ")}`);
console.log(
  `\n${total.passes} passed, ${total.failures} failed${total.pending ? `, ${total.pending} skipped` : ""}`,
);
process.exit(failedRuns.length ? 1 : 0);
