import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { loadPrebuilt, type ConnectorDefinition } from "./lib/connectors/definition";
import { loadBlueprints, type LoadedBlueprint } from "./lib/marketplace/manifest";
import { describeBlueprint, describeConnector, instancesByConnector } from "./lib/marketplace/catalogue";
import { InstallError, prepareInstall, type InstallRequest } from "./lib/marketplace/install";
import { installAdminErrors } from "./admin-errors";

/** The most instances or tab labels one install request may describe. */
const MAX_LISTED = 2000;

/**
 * The Marketplace sidebar (pw-marketplace.html): prebuilt connectors and blueprints, and the
 * install wizard. The routes only read: listing, and preparing a blueprint's nodes for the
 * editor to import (the editor imports them, so nothing changes until the user deploys).
 *
 *   GET  pw/marketplace                          connectors and blueprints
 *   GET  pw/marketplace/blueprints/:id           one blueprint, with what the wizard asks
 *   POST pw/marketplace/blueprints/:id/install   { choices, existing, tabLabels } → nodes to import
 */
export = function (RED: NodeAPI) {
  RED.plugins.registerPlugin("pw-marketplace", { type: "pw-marketplace" } as never);
  installAdminErrors(RED);
  const read = RED.auth.needsPermission("pw-marketplace.read");
  const manifestsDir = path.join(__dirname, "marketplace");
  // The flows ship in examples/ (Node-RED's place for them); a checkout has them in blueprints/.
  const root = path.join(__dirname, "..");
  const blueprintsDir = [path.join(root, "blueprints"), path.join(root, "examples")].find((d) =>
    fs.existsSync(d),
  ) as string;

  let connectors: ConnectorDefinition[] = [];
  try {
    connectors = loadPrebuilt();
  } catch (err) {
    RED.log.error(`pw-marketplace: the prebuilt connectors could not be loaded: ${(err as Error).message}`);
  }
  const names = new Map(connectors.map((c) => [c.id, c.name || c.id]));
  const prebuilt = new Set(names.keys());

  // Read on each request: a manifest added with the package is listed without a list to update.
  const blueprints = (): LoadedBlueprint[] => loadBlueprints(manifestsDir, blueprintsDir, prebuilt);
  const find = (req: Request, res: Response): LoadedBlueprint | undefined => {
    const found = blueprints().find((b) => b.manifest.id === req.params.id);
    if (!found)
      res.status(404).json({ error: "not_found", message: `there is no blueprint "${req.params.id}"` });
    return found;
  };

  RED.httpAdmin.get("/pw/marketplace", read, (_req: Request, res: Response) => {
    res.json({
      connectors: connectors.map(describeConnector),
      blueprints: blueprints().map((b) => describeBlueprint(b, names)),
    });
  });

  RED.httpAdmin.get("/pw/marketplace/blueprints/:id", read, (req: Request, res: Response) => {
    const b = find(req, res);
    if (!b) return;
    res.json({
      blueprint: describeBlueprint(b, names),
      instances: instancesByConnector(b.manifest, b.flow).map((i) => ({
        ...i,
        name: names.get(i.connector) ?? i.connector,
      })),
    });
  });

  RED.httpAdmin.post("/pw/marketplace/blueprints/:id/install", read, (req: Request, res: Response) => {
    const b = find(req, res);
    if (!b) return;
    if (!b.flow || b.problems.length)
      return res.status(409).json({
        error: "not_installable",
        message: `the blueprint "${b.manifest.name}" cannot be installed: ${b.problems.join("; ")}`,
      });
    const body = (req.body ?? {}) as Record<string, unknown>;
    const problem = requestProblem(body);
    if (problem) return res.status(400).json({ error: "bad_request", message: problem });
    // Only the request's own fields: newId (a test's counter) is never taken from the body.
    const { choices, existing, tabLabels } = body as InstallRequest;
    try {
      res.json(prepareInstall(b.manifest, b.flow, { choices, existing, tabLabels }));
    } catch (err) {
      if (!(err instanceof InstallError)) throw err;
      res.status(400).json({ error: "bad_request", message: err.message });
    }
  });
};

/** What is wrong with an install request's shape, or undefined. */
function requestProblem(body: Record<string, unknown>): string | undefined {
  const { choices, existing, tabLabels } = body;
  if (choices !== undefined) {
    if (!choices || typeof choices !== "object" || Array.isArray(choices))
      return 'choices: send { "<connector id>": "<instance id>" or "" for a new instance }';
    for (const [k, v] of Object.entries(choices))
      if (v !== null && typeof v !== "string") return `choices.${k}: an instance id, or "" for a new one`;
  }
  if (existing !== undefined) {
    if (!Array.isArray(existing) || existing.length > MAX_LISTED)
      return `existing: a list of at most ${MAX_LISTED} { id, connector, name } instances`;
    for (const [i, e] of existing.entries())
      if (!e || typeof e.id !== "string" || typeof e.connector !== "string")
        return `existing[${i}]: an instance needs a string id and connector`;
  }
  if (
    tabLabels !== undefined &&
    (!Array.isArray(tabLabels) ||
      tabLabels.length > MAX_LISTED ||
      tabLabels.some((l) => typeof l !== "string"))
  )
    return `tabLabels: a list of at most ${MAX_LISTED} tab labels`;
  return undefined;
}
