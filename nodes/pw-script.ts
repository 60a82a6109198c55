import { createRequire } from "node:module";
import path from "node:path";
import type { Node, NodeAPI, NodeDef } from "node-red";
import {
  compileScript,
  payloadsOf,
  SCRIPT_CAP_SECONDS,
  scriptTimeoutMs,
  type CompiledScript,
  type LogLevel,
  type RunOptions,
  type ScriptHost,
} from "./lib/script";
import { derive, pwOf, runIdOf } from "./lib/message";
import { findNode, shapeRuns } from "./contracts";
import { envValue } from "./template-view";
import { refuseMessages, shapeLabel, startClean } from "./shape";

interface ScriptDef extends NodeDef {
  /** inline: the code below; saved: a pw-saved-script at a version. */
  source?: "inline" | "saved";
  code?: string;
  script?: string;
  /** "latest" or a version number. */
  version?: string;
  /** The time limit in seconds (empty: 120, or the cap when lower). */
  timeout?: string | number;
  /** Send each element of a returned array as its own message. */
  each?: boolean;
}

/** settings.js `patchworks.script`. */
interface ScriptSettings {
  allowRequire?: boolean;
  allowProcess?: boolean;
  maxTimeoutSeconds?: number;
}

export = function (RED: NodeAPI) {
  const settings = (RED.settings as { patchworks?: { script?: ScriptSettings } }).patchworks?.script ?? {};
  let cap = SCRIPT_CAP_SECONDS;
  if (settings.maxTimeoutSeconds !== undefined) {
    const asked = Number(settings.maxTimeoutSeconds);
    if (Number.isFinite(asked) && asked > 0) cap = asked;
    else
      RED.log.warn(
        `pw-script: patchworks.script.maxTimeoutSeconds in settings.js must be a number of seconds above 0, not ${JSON.stringify(settings.maxTimeoutSeconds)}; using ${SCRIPT_CAP_SECONDS}`,
      );
  }
  // Modules resolve from the user directory, where Node-RED installs them.
  const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
  const userRequire =
    settings.allowRequire === true ? createRequire(path.join(userDir, "package.json")) : undefined;

  function PwScript(this: Node, def: ScriptDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("script", def);
    let compiled: CompiledScript;
    let origin = "";
    let timeoutMs: number;
    try {
      timeoutMs = scriptTimeoutMs(def.timeout, cap);
      let code = def.code;
      if (def.source === "saved") {
        const saved = findNode(RED, def.script ?? "", "pw-saved-script");
        if (!saved) throw new Error("choose a saved script (or write the script in the shape)");
        const named = `saved script "${saved.name || saved.id}"`;
        let picked;
        try {
          picked = saved.version(def.version);
        } catch (err) {
          throw new Error(`${named}: ${(err as Error).message}`, { cause: err });
        }
        origin = ` (${named} version ${picked.version})`;
        code = picked.code;
      }
      try {
        compiled = compileScript(code);
      } catch (err) {
        throw new Error(`${(err as Error).message}${origin}`, { cause: err });
      }
    } catch (err) {
      refuseMessages(node, label, "pw-script.status.bad-config", err);
      return;
    }
    const each = def.each === true;
    const flowContext = node.context().flow;
    const log: Record<LogLevel, (text: string) => void> = {
      debug: (t) => node.debug(t),
      info: (t) => node.log(t),
      warn: (t) => node.warn(t),
      error: (t) => node.error(t),
    };
    const host: ScriptHost = {
      flow: {
        get: (key, store) => flowContext.get(key, store as string),
        keys: (store) => flowContext.keys(store as string),
      },
      env: (name) => envValue(RED, node, name),
      log: (level, text) => log[level](text),
    };
    let ran = 0;

    node.on("input", (msg, send, done) => {
      const pw = pwOf(msg);
      const runId = runIdOf(msg);
      const options: RunOptions = {
        timeoutMs,
        require: userRequire,
        process: settings.allowProcess === true,
        signal: runId ? shapeRuns()?.signal(runId) : undefined,
      };
      const started = Date.now();
      node.status({ fill: "blue", shape: "dot", text: "pw-script.status.running" });
      compiled
        .run({ payload: msg.payload, meta: pw.meta ?? {}, run: { ...pw.run } }, host, options)
        .then((result) => {
          const payloads = payloadsOf(result.value, each);
          for (const w of result.flowWrites) flowContext.set(w.key, w.value, w.store as string);
          const changed = result.meta !== (pw.meta ?? {}) ? { meta: result.meta } : undefined;
          for (const p of payloads) send(derive(msg, p, changed));
          ran++;
          node.status({
            fill: "green",
            shape: "dot",
            text: `${ran} run${ran === 1 ? "" : "s"}, last ${Date.now() - started} ms, ${payloads.length} sent`,
          });
          done();
        })
        .catch((err: Error) => {
          node.status({ fill: "red", shape: "dot", text: "pw-script.status.failed" });
          done(new Error(`${label}${origin}: ${err.message}`));
        });
    });
  }
  RED.nodes.registerType("pw-script", PwScript);
};
