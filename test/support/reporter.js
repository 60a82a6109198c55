// Mocha's spec reporter, plus the run's counts written to $PW_STATS_FILE so scripts/test.js
// can add up every mocha process into one closing "N passed, N failed" line.
const fs = require("fs");
const Mocha = require("mocha");

class StatsReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once("end", () => {
      if (process.env.PW_STATS_FILE) fs.writeFileSync(process.env.PW_STATS_FILE, JSON.stringify(this.stats));
    });
  }
}
module.exports = StatsReporter;
