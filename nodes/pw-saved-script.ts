import type { NodeAPI, NodeDef } from "node-red";
import { checkVersions, pickVersion, type SavedVersion } from "./lib/script";
import type { SavedScriptNode } from "./contracts";

interface SavedScriptDef extends NodeDef {
  description?: string;
  versions?: unknown;
}

/**
 * A script shared by script shapes, with numbered versions (the editor adds one each time the
 * code changes). Deploying it is what makes its versions usable, as the product's "deployed".
 */
export = function (RED: NodeAPI) {
  function PwSavedScript(this: SavedScriptNode, def: SavedScriptDef) {
    RED.nodes.createNode(this, def);
    let versions: SavedVersion[] = [];
    try {
      versions = checkVersions(def.versions);
    } catch (err) {
      this.problem = (err as Error).message;
      this.error(`pw-saved-script "${def.name || def.id}": ${this.problem}`);
    }
    this.version = (wanted) => {
      if (this.problem) throw new Error(this.problem);
      return pickVersion(versions, wanted);
    };
  }
  RED.nodes.registerType("pw-saved-script", PwSavedScript);
};
