// What the marketplace connector specs share: one flow per endpoint call (trigger, optional
// manual payload, a pw-connection on an instance whose secrets go through the admin API as the
// editor sends them, sinks on both outputs), run through the trigger's admin route and read
// back from the run log, as a user would.
const { waitUntil } = require("./wait");
const { loadPrebuilt } = require("./dist").lib("connectors/definition");

const prebuilt = Object.fromEntries(loadPrebuilt().map((d) => [d.id, d]));

/** Every endpoint id of every prebuilt connector, as `<connector>/<endpoint>`. */
const allEndpoints = () => Object.values(prebuilt).flatMap((d) => d.endpoints.map((e) => `${d.id}/${e.id}`));

function harness(rt, seen) {
  const sink = (id) => ({
    id,
    type: "function",
    z: "t",
    func: `global.get('seen').push({ at: '${id}', payload: msg.payload, page: msg.pw && msg.pw.page }); return null;`,
    outputs: 0,
    wires: [],
  });
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      60000,
      25,
    );

  /**
   * Deploys trigger → [manual payload →] connection → ok / failed sinks for one endpoint of the
   * instance, starts a run and answers what arrived downstream and the run as the run log has it.
   */
  async function call(instance, endpoint, { params = {}, payload, shape = {} } = {}) {
    seen.length = 0;
    const first = payload === undefined ? "conn" : "mp";
    await rt.deploy([
      { id: "t", type: "tab", label: "Marketplace" },
      { id: "inst", type: "pw-instance", name: instance.name ?? "vendor", ...instance },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[first]] },
      ...(payload === undefined
        ? []
        : [
            {
              id: "mp",
              type: "pw-manual-payload",
              z: "t",
              format: "json",
              payload: JSON.stringify(payload),
              wires: [["conn"]],
            },
          ]),
      {
        id: "conn",
        type: "pw-connection",
        z: "t",
        name: endpoint,
        instance: "inst",
        endpoint,
        params: Object.entries(params).map(([key, value]) => ({
          key,
          valueType: "str",
          value: String(value),
        })),
        failureOutput: true,
        outputs: 2,
        wires: [["ok"], ["bad"]],
        ...shape,
      },
      { ...sink("ok"), z: "t" },
      { ...sink("bad"), z: "t" },
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    const run = await ended(id);
    // The run ends when nothing is in flight, so every message has reached its sink.
    const pages = seen.filter((s) => s.at === "ok");
    return {
      run,
      pages,
      records: pages.flatMap((p) => p.payload),
      failed: seen.filter((s) => s.at === "bad").flatMap((s) => s.payload),
      requests: run.steps.conn?.requests ?? [],
    };
  }
  return { call };
}

module.exports = { prebuilt, allEndpoints, harness };
