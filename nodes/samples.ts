import type { Response } from "express";
import { redact } from "./lib/redact";

/**
 * The first record each shape last received, for its dialog's "use last payload" button
 * (filter, route): one Map write per message, nothing copied.
 */
const lastSamples = new Map<string, unknown>();

/** The largest sample handed to the editor. */
export const SAMPLE_CAP_BYTES = 256 * 1024;

/** Keeps the first record of a payload (or the payload, when it is one record) as the node's sample. */
export function keepSample(nodeId: string, payload: unknown): void {
  lastSamples.set(nodeId, Array.isArray(payload) ? payload[0] : payload);
}

export function forgetSample(nodeId: string): void {
  lastSamples.delete(nodeId);
}

/** Answers the editor with a node's last sample: secrets masked, size capped, 404 when none yet. */
export function answerLastSample(res: Response, nodeId: string): void {
  if (!lastSamples.has(nodeId)) {
    res.status(404).json({
      error: "no_payload",
      message:
        "This shape has not received a message since it was deployed: run the flow once, then try again.",
    });
    return;
  }
  // Samples end up in flow files: mask whatever looks like a secret before the editor sees it.
  const text = JSON.stringify(redact(lastSamples.get(nodeId))) ?? "null";
  if (Buffer.byteLength(text) > SAMPLE_CAP_BYTES) {
    res.status(413).json({
      error: "too_large",
      message: `The last record is over ${SAMPLE_CAP_BYTES / 1024} KB; paste a smaller sample instead.`,
    });
    return;
  }
  res.type("application/json").send(`{"sample":${text}}`);
}
