import type { NodeAPI } from "node-red";

/**
 * Editor widgets shared by several shapes (the condition builder), in pw-editor.html. A
 * plugin rather than a node: the editor loads plugins before nodes, so every dialog finds them.
 */
export = function (RED: NodeAPI) {
  RED.plugins.registerPlugin("pw-editor", { type: "pw-editor" } as never);
};
