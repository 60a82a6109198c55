import https from "node:https";
import tls from "node:tls";
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { Request, Response } from "express";
import { ConnectorClient, type Instance } from "./lib/connectors/client";
import { loadPrebuilt, type ConnectorDefinition } from "./lib/connectors/definition";
import type { Limit } from "./lib/http/rate-limit";
import { installAdminErrors } from "./admin-errors";

/**
 * An instance: one account of a connector. Plain variables live in the flow; secret ones in
 * Node-RED's encrypted credentials, one credential slot each (secret_0 … secret_9, mapped by
 * `secretSlots`), so editing one secret never wipes another.
 */
const SECRET_SLOTS = 10;

interface InstanceDef extends NodeDef {
  connector: string;
  vars?: Record<string, string | number | boolean>;
  secretSlots?: Record<string, number>;
  auth?: number;
  rateLimit?: Limit[] | "";
  timeoutSec?: number | string;
  attempts?: number | string;
  /** PEM certificates to trust besides the usual ones (a private CA). */
  tlsCa?: string;
  /** Accept any certificate: for test systems only. */
  tlsInsecure?: boolean;
}

type Credentials = Record<string, string | undefined>;

interface InstanceNode extends Node {
  client?: ConnectorClient;
  problem?: string;
  connectorDef?: ConnectorDefinition;
}

export = function (RED: NodeAPI) {
  const prebuilt = new Map(loadPrebuilt().map((d) => [d.id, d]));

  function build(id: string, def: Omit<InstanceDef, keyof NodeDef> & { name?: string }, credentials: Credentials): ConnectorClient {
    const connector = prebuilt.get(def.connector);
    if (!connector) throw new Error(`no connector "${def.connector}" (there are ${[...prebuilt.keys()].join(", ")})`);
    const vars: Record<string, unknown> = { ...(def.vars ?? {}) };
    for (const v of connector.variables ?? []) {
      if (!v.secret) continue;
      const slot = def.secretSlots?.[v.key];
      const value = slot === undefined ? undefined : credentials[`secret_${slot}`];
      if (value !== undefined && value !== "") vars[v.key] = value;
    }
    const timeout = Number(def.timeoutSec);
    const attempts = Number(def.attempts);
    const instance: Instance = {
      id,
      vars,
      auth: def.auth ?? 0,
      rateLimit: Array.isArray(def.rateLimit) && def.rateLimit.length ? def.rateLimit : undefined,
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : undefined,
      attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : undefined,
    };
    const ca = (def.tlsCa ?? "").trim();
    if (ca && !ca.includes("-----BEGIN CERTIFICATE-----")) throw new Error("the CA certificate must be PEM text (-----BEGIN CERTIFICATE----- …)");
    // Only when asked: otherwise Node's own agent, and the usual proxy variables, apply.
    const httpsAgent = ca || def.tlsInsecure ? new https.Agent({ ca: ca ? [...tls.rootCertificates, ca] : undefined, rejectUnauthorized: def.tlsInsecure !== true }) : undefined;
    return new ConnectorClient(connector, instance, { httpsAgent });
  }

  function PwInstance(this: InstanceNode, def: InstanceDef) {
    RED.nodes.createNode(this, def);
    this.connectorDef = prebuilt.get(def.connector);
    try {
      this.client = build(this.id, def, (this.credentials ?? {}) as Credentials);
    } catch (err) {
      this.problem = (err as Error).message;
      this.error(`pw-instance "${def.name || def.id}": ${this.problem}`);
    }
  }
  const credentials: Record<string, { type: "password" }> = {};
  for (let i = 0; i < SECRET_SLOTS; i++) credentials[`secret_${i}`] = { type: "password" };
  RED.nodes.registerType("pw-instance", PwInstance as never, { credentials });

  const read = RED.auth.needsPermission("pw-instance.read");
  const write = RED.auth.needsPermission("pw-instance.write");

  // The connectors and their endpoints, for the instance and connection dialogs.
  RED.httpAdmin.get("/pw/connectors", read, (_req: Request, res: Response) => {
    res.json({
      connectors: [...prebuilt.values()].map((c) => ({
        id: c.id, name: c.name, version: c.version, description: c.description, category: c.category, icon: c.icon, docs: c.docs,
        variables: c.variables ?? [], auth: c.auth.map((a, i) => ({ index: i, type: a.type, label: a.label ?? a.type })), rateLimit: c.rateLimit ?? [],
        endpoints: c.endpoints.map((e) => ({ id: e.id, name: e.name, entity: e.entity, direction: e.direction, method: e.method, path: e.path, parameters: e.parameters ?? [], batch: e.batch, sample: e.sample })),
      })),
    });
  });

  /**
   * "Test connection" with the values in the open dialog, saved or not: secrets left as
   * they were (the editor sends __PWRD__) come from the deployed instance's credentials.
   */
  RED.httpAdmin.post("/pw/instances/test", write, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { id?: string; connector?: string; vars?: Record<string, string>; secrets?: Record<string, string>; secretSlots?: Record<string, number>; auth?: number; endpoint?: string; tlsCa?: string; tlsInsecure?: boolean };
    const connector = body.connector ? prebuilt.get(body.connector) : undefined;
    if (!connector) {
      res.status(400).json({ error: "bad_request", message: "choose a connector" });
      return;
    }
    const endpoint = connector.endpoints.find((e) => e.id === body.endpoint) ?? connector.endpoints.find((e) => e.direction === "receive");
    if (!endpoint || endpoint.direction !== "receive") {
      res.status(400).json({ error: "bad_request", message: `choose an endpoint that reads records to test ${connector.name} with` });
      return;
    }
    const saved = (body.id ? RED.nodes.getCredentials(body.id) : undefined) as Credentials | undefined;
    const slots: Record<string, number> = {};
    const credentials: Credentials = {};
    (connector.variables ?? []).filter((v) => v.secret).forEach((v, i) => {
      slots[v.key] = i;
      const typed = body.secrets?.[v.key];
      credentials[`secret_${i}`] = typed === "__PWRD__" || typed === undefined ? undefined : typed;
    });
    // Unchanged secrets: the saved instance's slots, found through the mapping the dialog has.
    const savedSlots = body.secretSlots ?? {};
    for (const [key, slot] of Object.entries(slots)) {
      if (credentials[`secret_${slot}`] === undefined && saved && savedSlots[key] !== undefined) credentials[`secret_${slot}`] = saved[`secret_${savedSlots[key]}`];
    }
    let client: ConnectorClient;
    try {
      client = build(`test-${body.id ?? "new"}`, { connector: connector.id, vars: body.vars, secretSlots: slots, auth: body.auth, tlsCa: body.tlsCa, tlsInsecure: body.tlsInsecure }, credentials);
    } catch (err) {
      res.json({ ok: false, message: (err as Error).message });
      return;
    }
    const started = Date.now();
    try {
      const first = await client.receive(endpoint.id, { firstPageOnly: true }).next();
      const count = first.value ? first.value.records.length : 0;
      res.json({ ok: true, message: `${connector.name} answered "${endpoint.name}" with ${count} record(s) in ${Date.now() - started} ms` });
    } catch (err) {
      res.json({ ok: false, message: (err as Error).message });
    }
  });
  installAdminErrors(RED);
};
