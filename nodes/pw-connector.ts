import type { Node, NodeAPI, NodeDef } from "node-red";
import type { Request, Response } from "express";
import { validateDefinition, DefinitionError } from "./lib/connectors/definition";
import { fromOpenApi } from "./lib/connectors/openapi";
import { registerBuilt, unregisterBuilt } from "./lib/connectors/registry";
import { installAdminErrors } from "./admin-errors";
import { shapeLabel } from "./shape";

/**
 * The connector builder's node: a connector definition made in the editor (or imported from
 * OpenAPI), validated like the prebuilt ones and offered beside them to every instance.
 */
interface ConnectorDef extends NodeDef {
  definition: string;
}

export = function (RED: NodeAPI) {
  function PwConnector(this: Node, def: ConnectorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    try {
      registerBuilt(node.id, validateDefinition(JSON.parse(def.definition || "{}")));
    } catch (err) {
      node.error(
        `${shapeLabel("connector", def)}: ${err instanceof SyntaxError ? `the definition is not JSON: ${err.message}` : (err as Error).message}`,
      );
    }
    node.on("close", (_removed: boolean, done: () => void) => {
      unregisterBuilt(node.id);
      done();
    });
  }
  RED.nodes.registerType("pw-connector", PwConnector);

  const write = RED.auth.needsPermission("pw-connector.write");
  RED.httpAdmin.post("/pw/connectors/validate", write, (req: Request, res: Response) => {
    let input: unknown = (req.body ?? {}).definition;
    try {
      if (typeof input === "string") input = JSON.parse(input);
      res.json({ ok: true, definition: validateDefinition(input) });
    } catch (err) {
      res.json({
        ok: false,
        problems:
          err instanceof DefinitionError
            ? err.problems
            : [`the definition is not JSON: ${(err as Error).message}`],
      });
    }
  });
  RED.httpAdmin.post("/pw/connectors/from-openapi", write, (req: Request, res: Response) => {
    const document = (req.body ?? {}).document;
    if (document === undefined || document === "") {
      res
        .status(400)
        .json({ error: "bad_request", message: "paste or upload an OpenAPI 3 document (JSON or YAML)" });
      return;
    }
    try {
      const draft = fromOpenApi(document);
      let problems: string[] = [];
      try {
        validateDefinition(draft);
      } catch (err) {
        problems = err instanceof DefinitionError ? err.problems : [(err as Error).message];
      }
      res.json({ definition: draft, problems });
    } catch (err) {
      res.status(400).json({ error: "bad_openapi", message: (err as Error).message });
    }
  });
  installAdminErrors(RED);
};
