import type { Node, NodeAPI, NodeDef } from "node-red";
import type { Request, Response } from "express";
import {
  compileMapping,
  mappingProblems,
  type MapOptions,
  type MapRule,
  type Mapping,
} from "./lib/mapping/mapping";
import { addCheck } from "./lib/editor-checks";
import { autoMap, samplePaths } from "./lib/mapping/automap";
import { buildLookupTable, type LookupTableConfig } from "./lib/mapping/lookup";
import type { CompileDeps } from "./lib/mapping/transforms";
import { mappingDeps } from "./mapping-deps";
import { derive } from "./lib/message";
import { attempt, noPayload, refuseMessages, shapeLabel, startClean } from "./shape";
import { templateView } from "./template-view";
import { installAdminErrors } from "./admin-errors";
import { answerLastSample, forgetSample, keepSample } from "./samples";
import { checkPermission, DEPLOY } from "./admin-permissions";
import type { LookupTable } from "./lib/mapping/transforms";

interface MapDef extends NodeDef, MapOptions {
  rules: MapRule[];
}

/** Whether mapping rules hold a transform that runs code (an expression). */
function runsCode(rules: unknown): boolean {
  return (
    Array.isArray(rules) &&
    rules.some(
      (r) =>
        Array.isArray((r as MapRule)?.transforms) &&
        ((r as MapRule).transforms ?? []).some((t) => (t as { type?: unknown })?.type === "expression"),
    )
  );
}

export = function (RED: NodeAPI) {
  /** Lookup tables are config nodes, found by id among those deployed. */
  const deps: CompileDeps = mappingDeps(RED, "pw-map");
  const maxExpressionMs = deps.maxExpressionMs;
  // The map dialog's rules, judged as a deploy would (pw/editor/check, kind "mapping"). A lookup
  // table the editor has but the runtime does not yet (added, not deployed) is judged at deploy.
  const notYetDeployed = (id: string): LookupTable => ({
    name: id,
    get: () => undefined,
    miss: "default",
    columns: new Proxy([], { get: (t, k) => (k === "includes" ? () => true : Reflect.get(t, k)) }),
  });
  addCheck("mapping", (value) =>
    mappingProblems(value, { ...deps, table: (id) => deps.table(id) ?? notYetDeployed(id) }),
  );

  function PwMap(this: Node, def: MapDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("map", def, `map (${Array.isArray(def.rules) ? def.rules.length : 0} fields)`);
    let mapping: Mapping;
    try {
      mapping = compileMapping(def.rules, { wrapInput: def.wrapInput, wrapOutput: def.wrapOutput }, deps);
    } catch (err) {
      refuseMessages(node, label, "pw-map.status.bad-config", err);
      return;
    }
    let total = 0;

    node.on("input", (msg, send, done) => {
      const payload = msg.payload;
      if (payload === undefined) {
        done(noPayload(label));
        return;
      }
      keepSample(node.id, payload);
      const input = def.wrapInput && !Array.isArray(payload) ? [payload] : payload;
      const mapped = attempt(node, label, "pw-map.status.failed", done, () =>
        mapping.map(input, { now: Date.now(), view: () => templateView(RED, node, msg) }),
      );
      if (mapped === undefined) return;
      total += Array.isArray(input) ? input.length : 1;
      node.status({ fill: "green", shape: "dot", text: `${total} records mapped` });
      send(derive(msg, mapped));
      done();
    });
    node.on("close", (removed: boolean, done: () => void) => {
      if (removed) forgetSample(node.id);
      done();
    });
  }
  RED.nodes.registerType("pw-map", PwMap);

  // The dialog's helpers run the engine itself, so what the editor shows is what a deploy does.
  const read = RED.auth.needsPermission("pw-map.read");
  const write = RED.auth.needsPermission("pw-map.write");
  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  RED.httpAdmin.post("/pw/map/test", write, async (req: Request, res: Response) => {
    const { rules, options, sample, tables } = body(req);
    // An expression transform runs the user's JavaScript: as deploying it would, that needs the right to deploy.
    if (runsCode(rules) && !(await checkPermission(RED, DEPLOY, req, res))) return;
    if (sample === undefined) {
      res.status(400).json({ error: "bad_request", message: "paste a sample record first" });
      return;
    }
    try {
      // Tables as the editor has them, saved or not yet deployed, before the deployed ones.
      const drafts = new Map<string, LookupTable>();
      for (const [id, config] of Object.entries((tables ?? {}) as Record<string, LookupTableConfig>))
        drafts.set(id, buildLookupTable(config));
      const mapping = compileMapping(rules as MapRule[], (options ?? {}) as MapOptions, {
        table: (id) => drafts.get(id) ?? deps.table(id),
        maxExpressionMs,
      });
      const records = Array.isArray(sample) ? sample.slice(0, 20) : sample;
      res.json({
        result: mapping.map(records, {
          now: Date.now(),
          view: () => ({ payload: sample, meta: {}, flow: {}, global: {}, env: {} }),
        }),
      });
    } catch (err) {
      // The test ran and the mapping failed: that is the answer, not a bad request.
      res.json({ failed: true, message: (err as Error).message });
    }
  });

  RED.httpAdmin.post("/pw/map/fields", write, (req: Request, res: Response) => {
    res.json({ paths: samplePaths(body(req).sample) });
  });

  RED.httpAdmin.post("/pw/map/automap", write, (req: Request, res: Response) => {
    const { source, target, rules, replace, sourceTags, targetTags } = body(req);
    const tagsOf = (t: unknown) =>
      t && typeof t === "object" && !Array.isArray(t)
        ? Object.fromEntries(
            Object.entries(t as Record<string, unknown>).filter(([, v]) => typeof v === "string") as Array<
              [string, string]
            >,
          )
        : undefined;
    if (source === undefined) {
      res.status(400).json({ error: "bad_request", message: "auto-map needs a source sample" });
      return;
    }
    res.json({
      rules: autoMap(source, target, Array.isArray(rules) ? (rules as MapRule[]) : [], replace === true, {
        source: tagsOf(sourceTags),
        target: tagsOf(targetTags),
      }),
    });
  });

  // The first record the shape last received, for the dialog's field pickers (shared with filter and route).
  RED.httpAdmin.get("/pw/map/:id/last-payload", read, (req: Request, res: Response) => {
    answerLastSample(res, String(req.params.id));
  });
  installAdminErrors(RED);
};
