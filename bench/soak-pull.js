// The soak's pull scenario (`npm run soak -- pull`): exactly once at full size. A real
// Node-RED runtime pulls 20,000 records (80 pages of 250) from a loopback upstream that fails
// 30% of requests (429 with Retry-After, 500 before accepting, 500 after accepting,
// connection dropped after accepting), sends them on in batches of 100, and prints what
// reached the next shape, what the upstream accepted and what the failure output says.
// Default settings throughout; a failed run is retried (Retry resumes the pull) up to 10
// times. A third round uses 3 tries per request, the old default for pages, under which pulls
// fail far more often and Retry resumes them.
//   SOAK_RECORDS (20000), SOAK_RATE (0.3), SOAK_SEED (random; printed), SOAK_RETRY_AFTER (0.2 s)
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startRuntime } = require("../test/support/runtime");
const { waitUntil } = require("../test/support/wait");
const { startFlaky, flakyConnector } = require("../test/fakes/flaky");

const RECORDS = Number(process.env.SOAK_RECORDS || 20000);
const RATE = Number(process.env.SOAK_RATE ?? 0.3);
const SEED = Number(process.env.SOAK_SEED || Math.floor(Math.random() * 2 ** 31));
const RETRY_AFTER = process.env.SOAK_RETRY_AFTER || "0.2";

async function main() {
  const records = Array.from({ length: RECORDS }, (_, i) => ({ id: i + 1, bad: i % 997 === 13 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-soak-"));
  fs.writeFileSync(path.join(dir, "keyed.json"), JSON.stringify(flakyConnector({ id: "keyed" })));
  fs.writeFileSync(
    path.join(dir, "nokey.json"),
    JSON.stringify(flakyConnector({ id: "nokey", idempotency: false })),
  );
  const seen = [];
  const rt = await startRuntime({
    functionGlobalContext: { seen },
    patchworks: { connectorsDir: dir, runs: { settleMs: 100 } },
  });
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      30 * 60 * 1000,
      200,
    );
  const sink = (id) => ({
    id,
    type: "function",
    z: "t",
    func: `global.get('seen').push({ at: '${id}', payload: msg.payload }); return null;`,
    outputs: 0,
    wires: [],
  });

  console.log(
    `pull: ${RECORDS} records, ${Math.round(RATE * 100)}% of requests failing (seed ${SEED}, Retry-After ${RETRY_AFTER} s)`,
  );
  const rows = [];
  // The third: 3 tries per request (the old default for pages): a pull fails far more often, and Retry resumes it.
  for (const [connector, attempts] of [
    ["keyed", undefined],
    ["nokey", undefined],
    ["keyed", 3],
  ]) {
    seen.length = 0;
    const up = await startFlaky({ records, rate: RATE, seed: SEED, retryAfter: RETRY_AFTER });
    await rt.deploy([
      { id: "t", type: "tab", label: "Soak" },
      { id: "inst", type: "pw-instance", connector, vars: { base: up.base } },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["pull"]] },
      {
        id: "pull",
        type: "pw-connection",
        z: "t",
        instance: "inst",
        endpoint: "list-items",
        wires: [["tap", "push"]],
      },
      sink("tap"),
      {
        id: "push",
        type: "pw-connection",
        z: "t",
        instance: "inst",
        endpoint: "create-items",
        failureOutput: true,
        outputs: 2,
        attempts,
        wires: [[], ["bad"]],
      },
      sink("bad"),
    ]);
    const started = Date.now();
    const runs = [await ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id)];
    while (runs.at(-1).status === "failed" && runs.length <= 10)
      runs.push(await ended((await rt.api("POST", `/pw/runs/${runs.at(-1).id}/retry`)).json.run.id));
    const seconds = (Date.now() - started) / 1000;

    const pulled = seen.filter((s) => s.at === "tap").flatMap((s) => s.payload.map((r) => r.id));
    const distinct = new Set(pulled);
    const failed = seen.filter((s) => s.at === "bad").flatMap((s) => s.payload);
    const accepted = up.accepted.map((r) => r.id);
    const acceptedSet = new Set(accepted);
    const refused = failed.filter((f) => f.outcome === "refused");
    const unknown = failed.filter((f) => f.outcome === "unknown");
    const onFailure = new Set(failed.map((f) => f.record.id));
    const row = {
      idempotency: connector === "keyed" ? "key per request" : "none declared",
      tries: attempts ? `${attempts} per request` : "defaults (8 pages, 3 sends)",
      runs: runs.map((r) => r.status).join(" → "),
      seconds,
      "pull: reached next shape": pulled.length,
      "pull: missing": RECORDS - distinct.size,
      "pull: duplicates": pulled.length - distinct.size,
      "send: accepted": accepted.length,
      "send: accepted twice": accepted.length - acceptedSet.size,
      "send: failure output": failed.length,
      "  refused": refused.length,
      "  refused but accepted (must be 0)": refused.filter((f) => acceptedSet.has(f.record.id)).length,
      "  unknown": unknown.length,
      "  unknown, in fact accepted": unknown.filter((f) => acceptedSet.has(f.record.id)).length,
      "send: neither accepted nor on the failure output": [...distinct].filter(
        (id) => !acceptedSet.has(id) && !onFailure.has(id),
      ).length,
      "upstream requests": up.stats.requests,
      "upstream failures": Object.entries(up.stats.failures)
        .map(([k, v]) => `${k}:${v}`)
        .join(" "),
    };
    rows.push(row);
    await up.close();
  }
  const keys = Object.keys(rows[0]);
  const width = Math.max(...keys.map((k) => k.length));
  const column = Math.max(34, ...rows.flatMap((r) => keys.map((k) => String(r[k]).length + 2)));
  for (const k of keys)
    console.log(`${k.padEnd(width)}  ${rows.map((r) => String(r[k]).padEnd(column)).join("")}`);
  await rt.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  const [keyed] = rows;
  const ok =
    keyed["pull: missing"] === 0 &&
    keyed["pull: duplicates"] === 0 &&
    keyed["send: accepted twice"] === 0 &&
    keyed["send: neither accepted nor on the failure output"] === 0 &&
    rows.every(
      (r) =>
        r["  refused but accepted (must be 0)"] === 0 &&
        r["pull: missing"] === 0 &&
        r["pull: duplicates"] === 0 &&
        r["send: neither accepted nor on the failure output"] === 0,
    );
  console.log(ok ? "pull: OK" : "pull: FAILED");
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
