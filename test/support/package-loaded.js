// What both package specs check of a running Node-RED: every node set of package.json and
// every plugin of this package loaded without errors.
const assert = require("node:assert/strict");
const { PLUGINS } = require("./package-types");

async function assertPackageLoaded(base) {
  const sets = await (await fetch(`${base}/nodes`, { headers: { accept: "application/json" } })).json();
  const ours = sets.filter((s) => s.module === "node-red-contrib-patchworks");
  assert.equal(
    ours.length,
    Object.keys(require("../../package.json")["node-red"].nodes).length,
    "every node set of package.json",
  );
  for (const set of ours) assert.equal(set.err, undefined, `${set.id}: ${set.err}`);
  const plugins = await (await fetch(`${base}/plugins`, { headers: { accept: "application/json" } })).json();
  const loaded = plugins
    .filter((p) => p.module === "node-red-contrib-patchworks" && !p.err)
    .flatMap((p) => p.plugins.map((x) => x.id));
  assert.deepEqual(loaded.sort(), [...PLUGINS].sort(), "every editor plugin of package.json loads");
}

module.exports = { assertPackageLoaded };
