import type { ConnectorDefinition } from "./definition";

/**
 * What the instance and connection dialogs list about a connector: its variables, ways to
 * sign in and endpoints, without request details. One shape for every connector the
 * dialogs see: prebuilt, built and deployed, or built in the editor and not deployed yet.
 */
export function summariseConnector(c: ConnectorDefinition) {
  return {
    id: c.id,
    name: c.name || c.id,
    version: c.version,
    description: c.description,
    category: c.category,
    icon: c.icon,
    docs: c.docs,
    variables: c.variables ?? [],
    auth: (c.auth ?? []).map((a, i) => ({ index: i, type: a.type, label: a.label ?? a.type })),
    rateLimit: c.rateLimit ?? [],
    endpoints: c.endpoints.map((e) => ({
      id: e.id,
      name: e.name,
      entity: e.entity,
      direction: e.direction,
      method: e.method,
      path: e.path,
      parameters: e.parameters ?? [],
      batch: e.batch,
      sample: e.sample,
      tags: e.tags,
    })),
  };
}

export type ConnectorSummary = ReturnType<typeof summariseConnector>;

/**
 * A definition still being built in the editor (JSON text or an object), listed as soon as
 * it has an id and a list of endpoints, valid or not: picking it is how one tests it. Null
 * when it is not that far yet.
 */
export function summariseDraft(input: unknown): ConnectorSummary | null {
  let d = input;
  try {
    if (typeof d === "string") d = JSON.parse(d);
    if (!d || typeof d !== "object") return null;
    const def = d as ConnectorDefinition;
    if (!def.id || !Array.isArray(def.endpoints)) return null;
    return summariseConnector(def);
  } catch {
    return null;
  }
}
