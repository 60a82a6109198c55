import crypto from "node:crypto";
import type { BlueprintManifest, FlowNode } from "./manifest";
import { setKey } from "../keys";

/**
 * Preparing a blueprint's flow for import into a workspace: the instances the user already
 * has are used in place of the blueprint's own copies (an account is configured once, not
 * once per blueprint), every other node gets a fresh id so installing twice does not clash,
 * the tabs come disabled (nothing runs before credentials are in), and no credentials travel.
 */

/** A pw-instance config node already in the workspace. */
export interface ExistingInstance {
  id: string;
  connector: string;
  name?: string;
}

export interface InstallRequest {
  /** By connector id: the existing instance to use, or empty for a new one from the blueprint. */
  choices?: Record<string, string | null | undefined>;
  /** The workspace's pw-instance config nodes. */
  existing?: ExistingInstance[];
  /** The workspace's tab labels, so a second install gets tabs of its own name. */
  tabLabels?: string[];
  /** Makes a fresh node id (tests pass a counter). */
  newId?: () => string;
}

export interface PlannedInstance {
  connector: string;
  /** The id in the prepared nodes: the existing instance's, or the new copy's fresh one. */
  id: string;
  name: string;
  created: boolean;
}

export interface InstallPlan {
  nodes: FlowNode[];
  tabs: { id: string; label: string }[];
  instances: PlannedInstance[];
  next: string[];
}

export class InstallError extends Error {
  override name = "InstallError";
}

/** A Node-RED style id: 16 hex digits. */
export function freshId(): string {
  return crypto.randomBytes(8).toString("hex");
}

export function prepareInstall(
  manifest: BlueprintManifest,
  flow: readonly FlowNode[],
  request: InstallRequest = {},
): InstallPlan {
  const newId = request.newId ?? freshId;
  const existing = new Map((request.existing ?? []).map((e) => [e.id, e]));
  const choices = request.choices ?? {};
  for (const [connector, chosen] of Object.entries(choices)) {
    if (!manifest.connectors.includes(connector))
      throw new InstallError(
        `the blueprint "${manifest.name}" does not use the connector "${connector}": choose instances for ${manifest.connectors.join(", ")}`,
      );
    if (!chosen) continue;
    const found = existing.get(chosen);
    if (!found)
      throw new InstallError(
        `the instance "${chosen}" chosen for ${connector} is not in the workspace: choose another or a new one`,
      );
    if (found.connector !== connector)
      throw new InstallError(
        `the instance "${found.name || found.id}" is of the connector "${found.connector}", not "${connector}"`,
      );
  }

  const ids = new Map<string, string>();
  const instances: PlannedInstance[] = [];
  const dropped = new Set<string>();
  for (const n of flow) {
    const chosen = n.type === "pw-instance" ? choices[String(n.connector)] : undefined;
    if (chosen) {
      ids.set(n.id, chosen);
      dropped.add(n.id);
      const e = existing.get(chosen)!;
      if (!instances.some((i) => i.id === chosen))
        instances.push({ connector: e.connector, id: chosen, name: e.name || chosen, created: false });
    } else {
      ids.set(n.id, newId());
    }
  }

  const taken = new Set(request.tabLabels ?? []);
  const tabs: InstallPlan["tabs"] = [];
  const nodes: FlowNode[] = [];
  for (const n of flow) {
    if (dropped.has(n.id)) continue;
    const copy = remap(stripCredentials(n), ids) as FlowNode;
    if (copy.type === "tab") {
      copy.disabled = true;
      copy.label = freeLabel(String(copy.label || manifest.name), taken);
      taken.add(copy.label as string);
      tabs.push({ id: copy.id, label: copy.label as string });
    }
    if (copy.type === "pw-instance")
      instances.push({
        connector: String(copy.connector),
        id: copy.id,
        name: String(copy.name || copy.connector),
        created: true,
      });
    nodes.push(copy);
  }
  return { nodes, tabs, instances, next: [...manifest.next] };
}

/** `label`, or `label (2)`, `label (3)` … when a tab of that name is already there. */
function freeLabel(label: string, taken: ReadonlySet<string>): string {
  if (!taken.has(label)) return label;
  for (let i = 2; ; i++) if (!taken.has(`${label} (${i})`)) return `${label} (${i})`;
}

/** A node without the credentials an exported flow may carry: an install never brings secrets. */
function stripCredentials(n: FlowNode): FlowNode {
  const { credentials: _credentials, ...rest } = n;
  return rest as FlowNode;
}

/**
 * Every reference to a node of the blueprint, rewritten: ids, z, g, wires, link targets,
 * group members, config references (pw-connection.instance …) and subflow instance types.
 * A string is a reference when it is exactly an id of the flow; ids are 16 random hex digits,
 * which no other property value is.
 */
function remap(value: unknown, ids: ReadonlyMap<string, string>, key?: string): unknown {
  if (typeof value === "string") {
    if (key === "type" && value.startsWith("subflow:")) {
      const target = ids.get(value.slice("subflow:".length));
      return target ? `subflow:${target}` : value;
    }
    return ids.get(value) ?? value;
  }
  if (Array.isArray(value)) return value.map((v) => remap(v, ids));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    // A flow's keys are data: one named __proto__ stays a key of this copy.
    for (const [k, v] of Object.entries(value)) setKey(out, k, k === "info" ? v : remap(v, ids, k));
    return out;
  }
  return value;
}
