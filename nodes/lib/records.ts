/**
 * Records that cross layers: the HTTP engine and the webhook layer produce them, the runs
 * layer keeps them. Here, so that neither side imports the other.
 */

/**
 * One HTTP request a shape made for a run, as the run log shows it. The URL never
 * carries secrets: the HTTP engine removes credentials before recording.
 */
export interface RequestRecord {
  method: string;
  url: string;
  /** Final status; absent when no answer came (connection error, abort). */
  status?: number;
  attempts: number;
  durationMs: number;
  at: number;
  error?: string;
}

/** What a flow answers to whoever waits for it (a held webhook request, a run-flow shape in wait mode). */
export interface CallbackReply {
  status: number;
  headers: Record<string, string>;
  payload: unknown;
  /** "json", "xml" or "text": how an HTTP answer serialises the payload. */
  format: "json" | "xml" | "text";
}
