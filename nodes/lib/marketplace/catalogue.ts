import type { ConnectorDefinition } from "../connectors/definition";
import type { BlueprintManifest, FlowNode, LoadedBlueprint } from "./manifest";

/**
 * What the Marketplace sidebar lists: the prebuilt connectors with their endpoints and the
 * credentials an instance of each asks for, and the blueprints with what they need.
 */
export function describeConnector(c: ConnectorDefinition) {
  const variables = c.variables ?? [];
  const field = (v: (typeof variables)[number]) => ({
    key: v.key,
    label: v.label,
    required: !!v.required,
    ...(v.default === undefined ? {} : { default: v.default }),
    ...(v.help ? { help: v.help } : {}),
  });
  return {
    id: c.id,
    name: c.name || c.id,
    version: c.version,
    description: c.description ?? "",
    category: c.category ?? "",
    icon: c.icon,
    docs: c.docs,
    endpoints: c.endpoints.map((e) => ({
      id: e.id,
      name: e.name,
      direction: e.direction,
      method: e.method,
      entity: e.entity,
    })),
    /** Plain values an instance holds in the flow (store address, base URL …). */
    variables: variables.filter((v) => !v.secret).map(field),
    /** Values an instance keeps in Node-RED's encrypted credentials, one slot each. */
    secrets: variables.filter((v) => v.secret).map(field),
    auth: (c.auth ?? []).map((a) => a.label ?? a.type),
  };
}

export type ConnectorEntry = ReturnType<typeof describeConnector>;

/** The blueprint's own pw-instance nodes, by connector: what the install wizard asks about. */
export function instancesByConnector(manifest: BlueprintManifest, flow: readonly FlowNode[] | undefined) {
  return manifest.connectors.map((connector) => ({
    connector,
    names: (flow ?? [])
      .filter((n) => n.type === "pw-instance" && n.connector === connector)
      .map((n) => String(n.name || connector)),
  }));
}

export function describeBlueprint(b: LoadedBlueprint, connectorNames: ReadonlyMap<string, string>) {
  const m = b.manifest;
  return {
    id: m.id,
    name: m.name,
    summary: m.summary,
    doc: m.doc,
    connectors: instancesByConnector(m, b.flow).map((i) => ({
      ...i,
      name: connectorNames.get(i.connector) ?? i.connector,
    })),
    flows: m.flows,
    calls: m.calls.map((c) => ({ ...c, name: connectorNames.get(c.connector) ?? c.connector })),
    next: m.next,
    nodes: (b.flow ?? []).filter((n) => n.type !== "tab" && n.z !== undefined).length,
    installable: b.problems.length === 0,
    problems: b.problems,
  };
}

export type BlueprintEntry = ReturnType<typeof describeBlueprint>;
