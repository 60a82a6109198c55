import * as fs from "node:fs";
import * as path from "node:path";

/**
 * When each service last ran successfully (the start of that run): the "since the last
 * successful run" watermark. One small JSON file under the userDir, written atomically (a
 * temp file, then rename), so it outlives a restart.
 */
export class ServiceState {
  private readonly file: string;
  private cache?: Record<string, number>;

  constructor(dir: string) {
    this.file = path.join(dir, "services.json");
  }

  private read(): Record<string, number> {
    if (this.cache) return this.cache;
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, "utf8")) as unknown;
      this.cache = parsed && typeof parsed === "object" ? (parsed as Record<string, number>) : {};
    } catch {
      this.cache = {};
    }
    return this.cache;
  }

  lastSuccess(id: string): number | undefined {
    const at = this.read()[id];
    return typeof at === "number" && Number.isFinite(at) ? at : undefined;
  }

  /** A later run's start moves the watermark on; an earlier one (runs overlapping) never moves it back. */
  succeeded(id: string, startedAt: number): void {
    const all = this.read();
    if ((all[id] ?? -Infinity) >= startedAt) return;
    all[id] = startedAt;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(all));
    fs.renameSync(temp, this.file);
  }

  forget(id: string): void {
    const all = this.read();
    if (!(id in all)) return;
    delete all[id];
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(all));
    fs.renameSync(temp, this.file);
  }
}
