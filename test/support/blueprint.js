// What every blueprint's end-to-end spec does around the blueprint itself: import it from the
// examples API as a user would (checking it ships no secret), wait for a run to end, and press a
// trigger, waiting, when the run succeeded, for the watermark it writes as it ends.
const assert = require("node:assert/strict");
const { waitUntil } = require("./wait");

const MODULE = "node-red-contrib-patchworks";

/** The blueprint's flow from Import > Examples > … > Blueprints, a copy the spec may change. */
async function importBlueprint(rt, name) {
  const example = (
    await rt.api("GET", `/library/examples/flows/${MODULE}/Blueprints/${encodeURIComponent(name)}`)
  ).json;
  assert.ok(Array.isArray(example), "the blueprint is among the examples");
  for (const n of example.filter((n) => n.type === "pw-instance"))
    assert.ok(!("credentials" in n), `no secret ships with the instance "${n.name}"`);
  return structuredClone(example);
}

/** The run once it has ended (any status but running or queued). */
function runEnded(rt, id, timeout = 30000) {
  return waitUntil(
    async () => {
      const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
      return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
    },
    `run ${id}`,
    timeout,
    20,
  );
}

/**
 * Presses a trigger's button and returns its run once ended. With `watermark: { tab, key }`, a
 * succeeded run's watermark (written as the run ends) is waited for too, so the next press
 * reads it.
 */
async function pressTrigger(rt, triggerId, { timeout, watermark } = {}) {
  const run = await runEnded(rt, (await rt.api("POST", `/pw/trigger/${triggerId}`, {})).json.run.id, timeout);
  if (watermark && run.status === "succeeded")
    await waitUntil(
      async () => {
        const at = (await rt.api("GET", `/context/flow/${watermark.tab}/${watermark.key}`)).json?.msg;
        return at && Math.abs(Date.parse(at) - run.startedAt) < 50;
      },
      "the watermark written",
      5000,
      10,
    );
  return run;
}

module.exports = { importBlueprint, runEnded, pressTrigger };
