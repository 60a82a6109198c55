import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { ConnectorClient } from "./lib/connectors/client";
import type { ResumePoint } from "./lib/http/pagination";
import { derive, readPw, runIdOf } from "./lib/message";
import type { RequestRecord } from "./lib/records";
import { findNode, shapeRuns } from "./contracts";
import { noPayload, refuseMessages, sendOn, shapeLabel, startClean, showStopped } from "./shape";
import { templateView } from "./template-view";
import { compileParams, type EndpointParam } from "./endpoint-params";

/**
 * The connection shape: calls one endpoint of an instance. Receive endpoints send one message
 * per page (msg.pw.page) or all pages as one; a paged pull keeps a checkpoint with its run
 * after each page it sends on, and a Retry of the run goes on from there, so no page reaches
 * the next shape twice. Send endpoints take a record or a list, send it one by one or in the
 * endpoint's batches, answer on output 1 and hand every record that failed, with its error
 * and outcome (refused, unknown), to output 2 (or fail the message when there is no output 2).
 */

/** A pull's checkpoint, kept with the run: where it goes on, or that it is done. */
interface PullCheckpoint {
  /** Pages and records sent on so far (across the run and the runs it retried). */
  pages: number;
  records: number;
  /** The next page to fetch; absent when the pull is done. */
  next?: ResumePoint;
  done?: boolean;
  /** The run the pull started in. */
  from?: string;
}

function isCheckpoint(value: unknown): value is PullCheckpoint {
  const c = value as PullCheckpoint;
  return (
    !!c &&
    typeof c === "object" &&
    Number.isInteger(c.pages) &&
    Number.isInteger(c.records) &&
    (c.done === true || (!!c.next && typeof c.next === "object" && Number.isInteger(c.next.pages)))
  );
}

interface ConnectionDef extends NodeDef {
  instance: string;
  endpoint: string;
  params?: EndpointParam[];
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
    startClean(node);
    const label = shapeLabel("connection", def, (def.endpoint ?? "").replace(/-/g, " "));
    const instance = findNode(RED, def.instance, "pw-instance");
    let client: ConnectorClient;
    let direction: "receive" | "send";
    let endpointName: string;
    let paramsFor: (msg: NodeMessage) => Record<string, unknown>;
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
      paramsFor = compileParams(RED, node, def.params);
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
          // A stopped run aborts its requests: that is no failure of this shape.
          if (call.signal?.aborted) showStopped(node);
          else node.status({ fill: "red", shape: "dot", text: "pw-connection.status.failed" });
          done(new Error(`${label}: ${err.message}`));
        },
      );
    });

    async function receive(
      msg: NodeMessage,
      send: (m: NodeMessage) => void,
      call: Parameters<ConnectorClient["receive"]>[1] & {},
    ): Promise<void> {
      const all: unknown[] = [];
      const pw = readPw(msg);
      const runId = pw?.run.id;
      const tracker = shapeRuns();
      // Pages sent one by one are checkpointed; all pages as one message has nothing to resume.
      const key =
        runId && tracker && !def.combine ? `${node.id}:${client.pullKey(def.endpoint, call)}` : undefined;
      const saved = key ? tracker?.resumePoint(runId as string, key) : undefined;
      const start = isCheckpoint(saved) ? saved : undefined;
      const keep = (c: PullCheckpoint) => {
        if (key && runId) tracker?.checkpoint(runId, key, c);
      };
      if (start?.done) {
        keep(start);
        node.status({
          fill: "green",
          shape: "dot",
          text: `${endpointName}: all ${start.records} records were sent on by the run retried; nothing left`,
        });
        return;
      }
      let pages = start?.pages ?? 0;
      let records = start?.records ?? 0;
      const from = start?.from ?? runId;
      // The point this run starts from is its own too: a retry of it that fails at once resumes there.
      if (start) keep(start);
      try {
        for await (const page of client.receive(def.endpoint, { ...call, resume: start?.next })) {
          pages = page.number;
          records += page.records.length;
          node.status({
            fill: "blue",
            shape: "dot",
            text: `${endpointName}: page ${pages}, ${records} records`,
          });
          if (def.combine) all.push(...page.records);
          else {
            send(
              derive(msg, page.records, pw ? { page: { number: page.number, last: page.last } } : undefined),
            );
            keep(
              page.resume
                ? { pages, records, next: client.checkpointOf(page.resume), from }
                : { pages, records, done: true, from },
            );
          }
        }
      } catch (err) {
        const resumable =
          key && pages > 0
            ? ` ${pages} page(s) were sent on; Retry the run to go on from page ${pages + 1}`
            : "";
        throw new Error(`${endpointName}, page ${pages + 1}: ${(err as Error).message}.${resumable}`, {
          cause: err,
        });
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
        f.records.map((record) => ({ record, error: f.error, status: f.status, outcome: f.outcome })),
      );
      const sent = records.length - failed.length;
      const unknown = failed.reduce((n, f) => (f.outcome === "unknown" ? n + 1 : n), 0);
      node.status({
        fill: failed.length ? "yellow" : "green",
        shape: "dot",
        text: `${endpointName}: ${sent} sent, ${failed.length} failed${unknown ? ` (${unknown} may have been accepted)` : ""}`,
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
        `${failed.length} of ${records.length} record(s) failed${unknown ? ` (${unknown} with an unknown outcome: they may have been accepted; check before resending)` : ""}; first: ${failed[0].error}. Turn on the failure output to keep going with the rest`,
      );
    }
  }

  RED.nodes.registerType("pw-connection", PwConnection);
};
