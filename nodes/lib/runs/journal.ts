import fsSync, { promises as fs } from "node:fs";
import path from "node:path";
import type { RunInfo } from "../message";
import type { QueuedRun } from "./queue";

/**
 * The intake journal: a write-ahead log of the runs this runtime accepted and of what became
 * of them, so that nothing acknowledged is lost and nothing finished runs again.
 *
 * One JSON line per event, appended to `patchworks/intake.jsonl`:
 * - `accept`: a run was accepted (id, trigger, rank, limit, the message to launch it with),
 *   already `started` when it had a slot at once;
 * - `start`: a queued run took a slot and is about to be launched;
 * - `requeue`: it could not be launched after all (its trigger went away) and waits again;
 * - `final`: it ended (with its status), or was cancelled while queued.
 *
 * Group commit: lines gather while the previous write is on its way, then go out in one
 * write followed by one fdatasync, and every promise waiting on them resolves. A webhook is
 * answered, and a queued run launched, only after its line is on disk, so after a crash a
 * run is either queued (never launched: resumed), started without a final line (interrupted:
 * marked failed) or final (never run again).
 *
 * Compaction: once the file passes `compactBytes` it is rewritten with only the runs still
 * open (a temp file, fsync, rename), in the same write chain, so no line is lost between.
 */
export interface IntakeEntry extends QueuedRun {
  /** The run's context (ids, trigger, flow, via): enough to record it after a crash. */
  run: RunInfo;
  /** It took a slot: after a crash it is not started again. */
  started: boolean;
}

export interface JournalReplay {
  /** Runs accepted and never started, in arrival order: to resume. */
  queued: IntakeEntry[];
  /** Runs started that never ended: interrupted by the crash or stop. */
  interrupted: IntakeEntry[];
  /** Runs whose end is in the journal, with their status (the run store may not have it yet). */
  finals: Map<string, { status: string; entry?: IntakeEntry }>;
}

export interface JournalOptions {
  /** Rewrite the file with only the open runs once it is this big (default 16 MB). */
  compactBytes?: number;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class IntakeJournal {
  /** Runs accepted and not final, by id. */
  private readonly open = new Map<string, IntakeEntry>();
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private writing = false;
  private scheduled = false;
  private fd: number | undefined;
  private bytes = 0;
  private opened = false;
  private readonly compactBytes: number;

  constructor(
    private readonly file: string,
    opts: JournalOptions = {},
  ) {
    this.compactBytes = opts.compactBytes ?? 16 * 1024 * 1024;
  }

  /** Reads the journal: which runs to resume, which were interrupted, which already ended. */
  async load(): Promise<JournalReplay> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const accepted = new Map<string, IntakeEntry>();
    const finals = new Map<string, { status: string; entry?: IntakeEntry }>();
    let text = "";
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // a line cut short by a crash: its acknowledgement never went out
      }
      const id = e.id as string;
      if (e.op === "accept") {
        // A final may be written before its accept line when a shutdown flush overtakes a write.
        if (finals.has(id)) continue;
        accepted.set(id, {
          runId: id,
          trigger: e.trigger as string,
          rank: e.rank as number,
          limit: e.limit as number,
          seq: 0,
          enqueuedAt: e.at as number,
          run: e.run as RunInfo,
          started: e.started === true,
          message: e.message === undefined ? undefined : JSON.stringify(e.message),
        });
      } else if (e.op === "start" || e.op === "requeue") {
        const entry = accepted.get(id);
        if (entry) entry.started = e.op === "start";
      } else if (e.op === "final") {
        finals.set(id, { status: e.status as string, entry: accepted.get(id) });
        accepted.delete(id);
      }
    }
    const replay: JournalReplay = { queued: [], interrupted: [], finals };
    for (const entry of accepted.values()) {
      this.open.set(entry.runId, entry);
      (entry.started ? replay.interrupted : replay.queued).push(entry);
    }
    // Starts clean: what is still open, nothing else; later lines append to it.
    await this.rewrite();
    this.opened = true;
    this.schedule();
    return replay;
  }

  /** Runs accepted and not yet final. */
  get openCount(): number {
    return this.open.size;
  }

  /** A run was accepted; resolves once that is on disk. */
  accept(entry: IntakeEntry): Promise<void> {
    this.open.set(entry.runId, entry);
    return this.append(acceptLine(entry), true);
  }

  /** Queued runs took a slot; resolves once that is on disk (launch them then). */
  started(entries: IntakeEntry[]): Promise<void> {
    let lines = "";
    for (const entry of entries) {
      entry.started = true;
      lines += `{"op":"start","id":${JSON.stringify(entry.runId)}}\n`;
    }
    return this.append(lines, true);
  }

  /** A started run could not be launched and waits in the queue again. */
  requeued(entry: IntakeEntry): void {
    entry.started = false;
    void this.append(`{"op":"requeue","id":${JSON.stringify(entry.runId)}}\n`, false);
  }

  /** A run ended (or was cancelled while queued): it is never started again. Not waited for. */
  finished(runId: string, status: string): void {
    if (!this.open.delete(runId)) return;
    void this.append(
      `{"op":"final","id":${JSON.stringify(runId)},"status":${JSON.stringify(status)}}\n`,
      false,
    );
  }

  /**
   * Writes what is pending before returning: for shutdown, when Node-RED may exit without
   * waiting for us. Replay does not depend on the order of lines of different runs.
   */
  flushSync(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    const text = this.pending.join("");
    this.pending = [];
    const waiters = this.waiters;
    this.waiters = [];
    try {
      fsSync.writeSync(this.fd, text);
      fsSync.fdatasyncSync(this.fd);
      this.bytes += Buffer.byteLength(text);
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err as Error);
      throw err;
    }
  }

  /** Resolves once everything appended so far is on disk. */
  async flushed(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (!this.writing) this.commit();
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Waits for everything pending to be on disk, then closes the file. */
  async close(): Promise<void> {
    await this.flushed();
    if (this.fd !== undefined) fsSync.closeSync(this.fd);
    this.fd = undefined;
    this.opened = false;
  }

  private append(lines: string, wait: boolean): Promise<void> {
    this.pending.push(lines);
    this.schedule();
    if (!wait) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private schedule(): void {
    if (this.scheduled || this.writing || !this.opened || this.pending.length === 0) return;
    this.scheduled = true;
    // What arrives in this turn of the event loop goes out together.
    setImmediate(() => {
      this.scheduled = false;
      this.commit();
    });
  }

  /** One write and one fdatasync for everything pending; compaction instead when the file is big. */
  private commit(): void {
    if (this.writing || this.pending.length === 0 || this.fd === undefined) return;
    this.writing = true;
    const waiters = this.waiters;
    this.waiters = [];
    const compact = this.bytes > this.compactBytes;
    const text = compact ? "" : this.pending.join("");
    this.pending = [];
    const done = (err?: Error | null) => {
      this.writing = false;
      if (err) {
        for (const w of waiters) w.reject(err);
      } else {
        for (const w of waiters) w.resolve();
      }
      this.schedule();
    };
    if (compact) {
      // The open runs as they are now include everything that was pending.
      this.rewrite().then(() => done(), done);
      return;
    }
    const fd = this.fd;
    fsSync.write(fd, text, null, "utf8", (err) => {
      if (err) return done(err);
      this.bytes += Buffer.byteLength(text);
      fsSync.fdatasync(fd, done);
    });
  }

  /** The file anew with only the open runs: temp file, fsync, rename, then appends go to it. */
  private async rewrite(): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    let text = "";
    for (const entry of this.open.values()) text += acceptLine(entry);
    // Waiting runs hold webhook payloads: readable by the runtime's user only.
    const handle = await fs.open(tmp, "w", 0o600);
    try {
      await handle.writeFile(text, "utf8");
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
    const dir = await fs.open(path.dirname(this.file), "r").catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
    if (this.fd !== undefined) fsSync.closeSync(this.fd);
    this.fd = fsSync.openSync(this.file, "a", 0o600);
    this.bytes = Buffer.byteLength(text);
  }
}

/** The message goes in as the JSON it already is, not as a string to escape again. */
function acceptLine(e: IntakeEntry): string {
  let line = `{"op":"accept","id":${JSON.stringify(e.runId)},"trigger":${JSON.stringify(e.trigger)},"rank":${e.rank},"limit":${e.limit},"at":${e.enqueuedAt},"run":${JSON.stringify(e.run)}`;
  if (e.started) line += `,"started":true`;
  if (e.message !== undefined) line += `,"message":${e.message}`;
  return line + "}\n";
}
