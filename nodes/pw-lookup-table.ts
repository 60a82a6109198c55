import type { NodeAPI, NodeDef } from "node-red";
import type { Request, Response } from "express";
import { parseCsv, toCsv } from "./lib/csv";
import { buildLookupTable, type LookupTableConfig } from "./lib/mapping/lookup";
import { installAdminErrors } from "./admin-errors";
import type { LookupTableNode } from "./contracts";
import { shapeLabel } from "./shape";

interface LookupDef extends NodeDef, Omit<LookupTableConfig, "name"> {}

export = function (RED: NodeAPI) {
  function PwLookupTable(this: LookupTableNode, def: LookupDef) {
    RED.nodes.createNode(this, def);
    try {
      this.table = buildLookupTable({ ...def, name: def.name || def.id });
    } catch (err) {
      this.problem = (err as Error).message;
      this.error(`${shapeLabel("lookup table", def)}: ${this.problem}`);
    }
  }
  RED.nodes.registerType("pw-lookup-table", PwLookupTable);

  // CSV import and export for the editor, parsed and written by the same code as everywhere.
  const write = RED.auth.needsPermission("pw-lookup-table.write");
  RED.httpAdmin.post("/pw/lookup-tables/from-csv", write, (req: Request, res: Response) => {
    const { text, delimiter } = (req.body ?? {}) as { text?: unknown; delimiter?: unknown };
    if (typeof text !== "string") {
      res.status(400).json({ error: "bad_request", message: 'send the CSV as text in the "text" field' });
      return;
    }
    if (text.length > 5 * 1024 * 1024) {
      res.status(413).json({ error: "too_large", message: "a lookup table's CSV may be at most 5 MB" });
      return;
    }
    try {
      res.json({
        rows: parseCsv(text, typeof delimiter === "string" && delimiter.length === 1 ? delimiter : ","),
      });
    } catch (err) {
      res.status(400).json({ error: "bad_csv", message: (err as Error).message });
    }
  });
  RED.httpAdmin.post("/pw/lookup-tables/to-csv", write, (req: Request, res: Response) => {
    const { rows } = (req.body ?? {}) as { rows?: unknown };
    if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
      res
        .status(400)
        .json({ error: "bad_request", message: 'send the table as a list of rows in the "rows" field' });
      return;
    }
    res.type("text/csv").send(toCsv(rows as unknown[][]));
  });
  installAdminErrors(RED);
};
