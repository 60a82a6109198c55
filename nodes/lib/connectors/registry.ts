import type { ConnectorDefinition } from "./definition";

/**
 * Connectors built in the editor (pw-connector config nodes), by the node that holds them.
 * Instances find a connector here or among the prebuilt ones.
 */
const built = new Map<string, ConnectorDefinition>();

export function registerBuilt(nodeId: string, def: ConnectorDefinition): void {
  built.set(nodeId, def);
}

export function unregisterBuilt(nodeId: string): void {
  built.delete(nodeId);
}

export function builtConnectors(): ConnectorDefinition[] {
  return [...built.values()];
}

export function findBuilt(id: string): ConnectorDefinition | undefined {
  for (const def of built.values()) if (def.id === id) return def;
  return undefined;
}
