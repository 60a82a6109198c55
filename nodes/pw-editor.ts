import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { checkKinds, checkOf, conditionRules } from "./lib/editor-checks";
import { installAdminErrors } from "./admin-errors";
import { compileConditions } from "./lib/conditions";
import { filterRecords } from "./lib/routing";
import { samplePaths } from "./lib/mapping/automap";
import { answerLastSample } from "./samples";

/** Records of a sample the condition test answers with (the counts cover them all). */
const TEST_RECORDS_SHOWN = 20;

/** The most checks one request may carry (a flow's worth of nodes, loaded at once). */
const MAX_CHECKS = 500;

/**
 * Editor widgets shared by several shapes (the condition builder), in pw-editor.html. A
 * plugin rather than a node: the editor loads plugins before nodes, so every dialog finds them.
 * Its admin routes are how dialogs learn the runtime's rules instead of keeping copies:
 * GET pw/editor/rules describes the condition operators, POST pw/editor/check runs the
 * engine's own compile step on values from the dialogs.
 */
export = function (RED: NodeAPI) {
  RED.plugins.registerPlugin("pw-editor", { type: "pw-editor" } as never);
  const read = RED.auth.needsPermission("pw-editor.read");

  RED.httpAdmin.get("/pw/editor/rules", read, (_req: Request, res: Response) => {
    res.json({ conditions: conditionRules() });
  });

  // Body: { checks: [{ kind, value }] }; answer: { results: [{ problems: [...] }] }, in order.
  RED.httpAdmin.post("/pw/editor/check", read, (req: Request, res: Response) => {
    const checks = (req.body ?? {}).checks as unknown;
    const bad = (message: string) => res.status(400).json({ error: "bad_request", message });
    if (!Array.isArray(checks) || checks.length === 0)
      return bad('send { "checks": [{ "kind": …, "value": … }] } with at least one check');
    if (checks.length > MAX_CHECKS)
      return bad(`at most ${MAX_CHECKS} checks per request, not ${checks.length}`);
    for (const [i, c] of checks.entries()) {
      const kind = (c as { kind?: unknown } | null)?.kind;
      if (typeof kind !== "string" || !checkOf(kind))
        return bad(`check ${i + 1}: unknown kind "${String(kind)}" (use one of ${checkKinds().join(", ")})`);
    }
    res.json({
      results: checks.map((c: { kind: string; value?: unknown }) => ({
        problems: (checkOf(c.kind) as (value: unknown) => unknown[])(c.value),
      })),
    });
  });
  // The record sample behind the condition builder's field pickers and its Test button.
  const write = RED.auth.needsPermission("pw-editor.write");
  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  RED.httpAdmin.post("/pw/editor/fields", write, (req: Request, res: Response) => {
    res.json({ paths: samplePaths(body(req).sample) });
  });

  // Body: { conditions, sample }; runs the engine's filter on the sample, as the shape would.
  RED.httpAdmin.post("/pw/editor/conditions/test", write, (req: Request, res: Response) => {
    const { conditions, sample } = body(req);
    if (sample === undefined)
      return res.status(400).json({ error: "bad_request", message: "paste a sample record first" });
    try {
      const matcher = compileConditions(conditions);
      const view = () => ({ payload: sample, meta: {}, run: {}, flow: {}, global: {}, env: {} });
      const { kept, removed } = filterRecords(
        sample,
        matcher.bind(view, Date.now()),
        true,
        matcher.readsFields,
      );
      res.json({
        records: kept.length + removed.length,
        matching: kept.length,
        matched: kept.slice(0, TEST_RECORDS_SHOWN),
      });
    } catch (err) {
      // The test ran and the conditions refused the sample (or do not compile): that is the answer.
      res.json({ failed: true, message: (err as Error).message });
    }
  });

  RED.httpAdmin.get("/pw/editor/last-payload/:id", read, (req: Request, res: Response) => {
    answerLastSample(res, String(req.params.id));
  });
  installAdminErrors(RED);
};
