import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { ConnectorClient } from "./lib/connectors/client";
import { derive, readPw, runIdOf } from "./lib/message";
import type { RequestRecord } from "./lib/records";
import { findNode, shapeRuns } from "./contracts";
import { compileTemplate } from "./lib/templates";
import { noPayload, refuseMessages, sendOn } from "./shape";
import { templateView } from "./template-view";
import { setKey } from "./lib/keys";

/**
 * The connection shape: calls one endpoint of an instance. Receive endpoints send one message
 * per page (msg.pw.page) or all pages as one; send endpoints take a record or a list, send
 * it one by one or in the endpoint's batches, answer on output 1 and hand every record that
 * failed, with its error, to output 2 (or fail the message when there is no output 2).
 */
interface Param {
  key: string;
  valueType: string;
  value: string;
}

interface ConnectionDef extends NodeDef {
  instance: string;
  endpoint: string;
  params?: Param[];
  combine?: boolean;
  concurrency?: number | string;
  failureOutput?: boolean;
  timeoutSec?: number | string;
  attempts?: number | string;
}

export = function (RED: NodeAPI) {
  function PwConnection(this: Node, def: ConnectionDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const label = `pw-connection "${def.name || def.id}"`;
    const instance = findNode(RED, def.instance, "pw-instance");
    let client: ConnectorClient;
    let direction: "receive" | "send";
    let endpointName: string;
    const templates = new Map<string, ReturnType<typeof compileTemplate>>();
    try {
      if (!instance) throw new Error("choose an instance (the account to connect with)");
      if (!instance.client)
        throw new Error(
          `its instance "${instance.name || instance.id}" cannot be used: ${instance.problem ?? "see its settings"}`,
        );
      client = instance.client;
      const endpoint = client.endpoint(def.endpoint);
      direction = endpoint.direction;
      endpointName = endpoint.name;
      for (const p of def.params ?? [])
        if (p.valueType === "template") templates.set(p.key, compileTemplate(p.value ?? ""));
    } catch (err) {
      refuseMessages(node, label, "pw-connection.status.bad-config", err);
      return;
    }
    const timeout = Number(def.timeoutSec);
    const attempts = Number(def.attempts);
    const perShape = {
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : undefined,
      attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : undefined,
    };
    const concurrency = Math.max(1, Number(def.concurrency) || 1);
    const outputs = direction === "send" && def.failureOutput ? 2 : 1;

    const paramsFor = (msg: NodeMessage): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const p of def.params ?? []) {
        const template = templates.get(p.key);
        const value = template
          ? template(templateView(RED, node, msg))
          : RED.util.evaluateNodeProperty(
              p.value,
              p.valueType === "str" || !p.valueType ? "str" : p.valueType,
              node,
              msg,
            );
        if (value !== undefined && value !== "") setKey(out, p.key, value);
      }
      return out;
    };

    node.on("input", (msg, send, done) => {
      const runId = runIdOf(msg);
      const tracker = shapeRuns();
      const call = {
        ...perShape,
        params: {} as Record<string, unknown>,
        view: () => templateView(RED, node, msg),
        signal: runId ? tracker?.signal(runId) : undefined,
        record:
          runId && tracker
            ? (r: RequestRecord) =>
                tracker.recordRequest(runId, { id: node.id, type: node.type, name: def.name }, r)
            : undefined,
      };
      try {
        call.params = paramsFor(msg);
      } catch (err) {
        done(new Error(`${label}: a parameter could not be read: ${(err as Error).message}`));
        return;
      }
      const work = direction === "receive" ? receive(msg, send, call) : sendRecords(msg, send, call);
      work.then(
        () => done(),
        (err: Error) => {
          node.status({ fill: "red", shape: "dot", text: "pw-connection.status.failed" });
          done(new Error(`${label}: ${err.message}`));
        },
      );
    });

    async function receive(
      msg: NodeMessage,
      send: (m: NodeMessage) => void,
      call: Parameters<ConnectorClient["receive"]>[1],
    ): Promise<void> {
      const all: unknown[] = [];
      let pages = 0;
      let records = 0;
      const pw = readPw(msg);
      try {
        for await (const page of client.receive(def.endpoint, call)) {
          pages = page.number;
          records += page.records.length;
          node.status({
            fill: "blue",
            shape: "dot",
            text: `${endpointName}: page ${pages}, ${records} records`,
          });
          if (def.combine) all.push(...page.records);
          else
            send(
              derive(msg, page.records, pw ? { page: { number: page.number, last: page.last } } : undefined),
            );
        }
      } catch (err) {
        throw new Error(`${endpointName}, page ${pages + 1}: ${(err as Error).message}`, { cause: err });
      }
      if (def.combine) send(derive(msg, all, pw ? { page: { number: pages, last: true } } : undefined));
      node.status({
        fill: "green",
        shape: "dot",
        text: `${endpointName}: ${records} records in ${pages} page(s)`,
      });
    }

    async function sendRecords(
      msg: NodeMessage,
      send: (m: Array<NodeMessage | null>) => void,
      call: Parameters<ConnectorClient["send"]>[2],
    ): Promise<void> {
      const payload = msg.payload;
      if (payload === undefined) throw noPayload("nothing to send");
      const records = Array.isArray(payload) ? payload : [payload];
      const result = await client.send(def.endpoint, records, { ...call, concurrency });
      const failed = result.failed.flatMap((f) =>
        f.records.map((record) => ({ record, error: f.error, status: f.status })),
      );
      const sent = records.length - failed.length;
      node.status({
        fill: failed.length ? "yellow" : "green",
        shape: "dot",
        text: `${endpointName}: ${sent} sent, ${failed.length} failed`,
      });
      if (result.ok.length)
        sendOn(
          send,
          outputs,
          0,
          derive(
            msg,
            result.ok.map((o) => o.response),
          ),
        );
      if (failed.length === 0) return;
      if (outputs === 2) {
        const runId = runIdOf(msg);
        if (runId) shapeRuns()?.failedRecords(runId, failed.length);
        sendOn(send, outputs, 1, derive(msg, failed));
        return;
      }
      throw new Error(
        `${failed.length} of ${records.length} record(s) failed; first: ${failed[0].error}. Turn on the failure output to keep going with the rest`,
      );
    }
  }

  RED.nodes.registerType("pw-connection", PwConnection);
};
