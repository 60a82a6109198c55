import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";

/**
 * Blueprint manifests (nodes/marketplace/<id>.json): what a blueprint does, the prebuilt
 * connectors it needs, its flow file and tabs, the API calls it makes and what a user does
 * after installing it. The folder is read as it is, so a manifest added there is listed with
 * no list to update; one that does not hold together is listed with its problems, never
 * installed.
 */
export interface CallEstimate {
  connector: string;
  perRun: string;
  perRecord: string;
}

export interface BlueprintManifest {
  id: string;
  name: string;
  summary: string;
  /** The flow file, relative to the blueprints folder (blueprints/ here, examples/ when packed). */
  flow: string;
  doc?: string;
  connectors: string[];
  flows: string[];
  calls: CallEstimate[];
  next: string[];
}

/** A node of flow JSON, as Node-RED exports it. */
export type FlowNode = { id: string; type: string; z?: string } & Record<string, unknown>;

const text = { type: "string", minLength: 1 };
const MANIFEST_SCHEMA = {
  type: "object",
  required: ["id", "name", "summary", "flow", "connectors", "flows", "calls", "next"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: "^[a-z0-9]+(-[a-z0-9]+)*$" },
    name: text,
    summary: text,
    flow: { type: "string", pattern: "\\.json$" },
    doc: text,
    connectors: { type: "array", minItems: 1, uniqueItems: true, items: text },
    flows: { type: "array", minItems: 1, items: text },
    calls: {
      type: "array",
      items: {
        type: "object",
        required: ["connector", "perRun", "perRecord"],
        additionalProperties: false,
        properties: { connector: text, perRun: text, perRecord: text },
      },
    },
    next: { type: "array", minItems: 1, items: text },
  },
};

let validator: ReturnType<Ajv["compile"]> | undefined;

/** Problems of a manifest's own shape, each naming its field; none when it is well formed. */
export function manifestShapeProblems(input: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(MANIFEST_SCHEMA);
  if (validator(input)) return [];
  return (validator.errors ?? []).map((e) => {
    const where = (e.instancePath || "/").slice(1).replace(/\//g, ".") || "(manifest)";
    const extra = e.keyword === "additionalProperties" ? ` "${String(e.params.additionalProperty)}"` : "";
    return `${where}: ${e.message}${extra}`;
  });
}

/**
 * Problems between a manifest and what it names: connectors that are not prebuilt, a flow
 * that is missing or whose instances and tabs are not the ones the manifest lists. `flow` is
 * undefined when the file could not be read (the problem is then that).
 */
export function manifestProblems(
  manifest: BlueprintManifest,
  prebuilt: ReadonlySet<string>,
  flow: FlowNode[] | undefined,
): string[] {
  const problems: string[] = [];
  const listed = new Set(manifest.connectors);
  for (const c of manifest.connectors)
    if (!prebuilt.has(c)) problems.push(`connectors: "${c}" is not a prebuilt connector`);
  for (const [i, call] of manifest.calls.entries())
    if (!listed.has(call.connector))
      problems.push(`calls[${i}].connector: "${call.connector}" is not among the manifest's connectors`);
  if (!flow) return problems;
  const used = new Set<string>();
  for (const n of flow.filter((n) => n.type === "pw-instance")) {
    const connector = String(n.connector ?? "");
    used.add(connector);
    if (!listed.has(connector))
      problems.push(
        `flow: the instance "${String(n.name || n.id)}" uses the connector "${connector}", which the manifest's connectors do not list`,
      );
  }
  for (const c of manifest.connectors)
    if (!used.has(c)) problems.push(`connectors: "${c}" has no instance in the flow`);
  const tabs = flow.filter((n) => n.type === "tab").map((n) => String(n.label ?? ""));
  if (tabs.length === 0) problems.push("flow: it has no tab");
  for (const label of tabs)
    if (!manifest.flows.includes(label))
      problems.push(`flows: the flow's tab "${label}" is not listed in the manifest's flows`);
  return problems;
}

/** A loaded manifest, with its flow when that could be read, and whatever is wrong with it. */
export interface LoadedBlueprint {
  file: string;
  manifest: BlueprintManifest;
  flow?: FlowNode[];
  problems: string[];
}

/** Reads a flow file named by a manifest, refusing a path that leaves the blueprints folder. */
export function readBlueprintFlow(blueprintsDir: string, relative: string): FlowNode[] {
  const file = path.resolve(blueprintsDir, relative);
  if (!file.startsWith(path.resolve(blueprintsDir) + path.sep))
    throw new Error(`the flow "${relative}" is outside the blueprints folder`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      e.code === "ENOENT"
        ? `the flow file "${relative}" does not exist`
        : `the flow file "${relative}" is not JSON: ${e.message}`,
      { cause: err },
    );
  }
  if (
    !Array.isArray(parsed) ||
    !parsed.every((n) => n && typeof n.id === "string" && typeof n.type === "string")
  )
    throw new Error(`the flow file "${relative}" is not a list of nodes with an id and a type`);
  return parsed as FlowNode[];
}

/** Every manifest in `dir` (sorted by file name), each checked against the prebuilt connectors and its flow. */
export function loadBlueprints(
  dir: string,
  blueprintsDir: string,
  prebuilt: ReadonlySet<string>,
): LoadedBlueprint[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "schema.json");
  } catch {
    return [];
  }
  return files.sort().map((file) => {
    const id = file.replace(/\.json$/, "");
    let input: unknown;
    try {
      input = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    } catch (err) {
      return { file, manifest: stub(id), problems: [`${file} is not JSON: ${(err as Error).message}`] };
    }
    const shape = manifestShapeProblems(input);
    if (shape.length) {
      const named = input as Partial<BlueprintManifest>;
      return {
        file,
        manifest: { ...stub(id), name: typeof named?.name === "string" ? named.name : id },
        problems: shape,
      };
    }
    const manifest = input as BlueprintManifest;
    const problems: string[] = [];
    if (manifest.id !== id) problems.push(`id: "${manifest.id}" is not the file's name "${id}"`);
    let flow: FlowNode[] | undefined;
    try {
      flow = readBlueprintFlow(blueprintsDir, manifest.flow);
    } catch (err) {
      problems.push(`flow: ${(err as Error).message}`);
    }
    problems.push(...manifestProblems(manifest, prebuilt, flow));
    return { file, manifest, flow, problems };
  });
}

function stub(id: string): BlueprintManifest {
  return { id, name: id, summary: "", flow: "", connectors: [], flows: [], calls: [], next: [] };
}
