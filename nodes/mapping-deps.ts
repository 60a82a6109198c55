import type { NodeAPI } from "node-red";
import { EXPRESSION_CAP_MS, type CompileDeps } from "./lib/mapping/transforms";
import { findNode } from "./contracts";

/**
 * What a mapping needs from the runtime, for every shape that maps (map, service): the
 * expression time cap from settings.js (patchworks.map.maxExpressionMs) and the deployed
 * lookup tables, found by id.
 */
export function mappingDeps(RED: NodeAPI, who: string): CompileDeps {
  const asked = (RED.settings as { patchworks?: { map?: { maxExpressionMs?: unknown } } }).patchworks?.map
    ?.maxExpressionMs;
  let maxExpressionMs = EXPRESSION_CAP_MS;
  if (asked !== undefined) {
    if (Number.isInteger(asked) && (asked as number) > 0) maxExpressionMs = asked as number;
    else
      RED.log.warn(
        `${who}: patchworks.map.maxExpressionMs in settings.js must be a whole number of ms above 0, not ${JSON.stringify(asked)}; using ${EXPRESSION_CAP_MS}`,
      );
  }
  return {
    maxExpressionMs,
    table(id) {
      const node = findNode(RED, id, "pw-lookup-table");
      if (!node) return undefined;
      if (node.problem)
        throw new Error(`the lookup table "${node.name || id}" cannot be used: ${node.problem}`);
      return node.table;
    },
  };
}
