import { Cron } from "croner";

/**
 * Schedules of the trigger shape: presets that read like the product's (every N minutes,
 * hourly, daily on weekdays, monthly on days) and advanced cron, each in its own IANA time
 * zone. Presets compile to cron so one calculator (croner) computes every next time.
 */
export type ScheduleSpec =
  | { type: "minutes"; every: number; tz?: string }
  | { type: "hourly"; every?: number; minute: number; tz?: string }
  | { type: "daily"; time: string; days?: number[]; tz?: string }
  | { type: "monthly"; time: string; days: Array<number | "L">; months?: number[]; tz?: string }
  | { type: "cron"; cron: string; tz?: string };

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

export const DEFAULT_TZ = "UTC";

export function checkTimeZone(tz: string): string {
  try {
    return new Intl.DateTimeFormat("en-GB", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleError(`unknown time zone "${tz}": use an IANA name such as "Europe/London" or "UTC"`);
  }
}

function int(value: unknown, min: number, max: number, what: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ScheduleError(`${what} must be a whole number from ${min} to ${max}, not "${String(value)}"`);
  }
  return n;
}

function clock(time: string): { hour: number; minute: number } {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(time ?? "").trim());
  if (!m) throw new ScheduleError(`time "${String(time)}" must be HH:MM, e.g. 09:30`);
  return { hour: int(m[1], 0, 23, "hour"), minute: int(m[2], 0, 59, "minute") };
}

function list(values: number[] | undefined, min: number, max: number, what: string): string {
  if (!values || values.length === 0) return "*";
  const unique = [...new Set(values.map((v) => int(v, min, max, what)))].sort((a, b) => a - b);
  return unique.join(",");
}

/** The cron expression (5 or 6 fields) a schedule stands for. Throws ScheduleError when invalid. */
export function toCron(spec: ScheduleSpec): string {
  switch (spec.type) {
    case "minutes": {
      const every = int(spec.every, 1, 59, "every N minutes");
      return every === 1 ? "* * * * *" : `*/${every} * * * *`;
    }
    case "hourly": {
      const minute = int(spec.minute ?? 0, 0, 59, "minute past the hour");
      const every = int(spec.every ?? 1, 1, 23, "every N hours");
      return `${minute} ${every === 1 ? "*" : `*/${every}`} * * *`;
    }
    case "daily": {
      const { hour, minute } = clock(spec.time);
      return `${minute} ${hour} * * ${list(spec.days, 0, 6, "weekday (0 = Sunday)")}`;
    }
    case "monthly": {
      const { hour, minute } = clock(spec.time);
      if (!spec.days || spec.days.length === 0) throw new ScheduleError("pick at least one day of the month");
      const days = [
        ...new Set(spec.days.map((d) => (d === "L" ? "L" : String(int(d, 1, 31, "day of the month"))))),
      ];
      return `${minute} ${hour} ${days.join(",")} ${list(spec.months, 1, 12, "month")} *`;
    }
    case "cron": {
      const expr = String(spec.cron ?? "")
        .trim()
        .replace(/\s+/g, " ");
      const fields = expr === "" ? 0 : expr.split(" ").length;
      if (fields !== 5 && fields !== 6) {
        throw new ScheduleError(
          `cron "${expr}" has ${fields} fields; use 5 (minute hour day month weekday) or 6 (second first)`,
        );
      }
      return expr;
    }
    default:
      throw new ScheduleError(`unknown schedule type "${(spec as { type: string }).type}"`);
  }
}

/** A schedule checked and ready to compute fire times. */
export interface CompiledSchedule {
  spec: ScheduleSpec;
  cron: string;
  tz: string;
  nextAfter(time: number): number | undefined;
}

export function compileSchedule(spec: ScheduleSpec): CompiledSchedule {
  const tz = checkTimeZone(spec.tz || DEFAULT_TZ);
  const cron = toCron(spec);
  let calc: Cron;
  try {
    calc = new Cron(cron, { timezone: tz, paused: true });
  } catch (err) {
    throw new ScheduleError(
      `cron "${cron}" is not valid: ${(err as Error).message.replace(/^CronPattern: /, "")}`,
    );
  }
  return {
    spec,
    cron,
    tz,
    nextAfter(time) {
      const next = calc.nextRun(new Date(time));
      return next ? next.getTime() : undefined;
    },
  };
}

/** Time source and timers, injectable so tests need neither real waits nor faked globals. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

// setTimeout takes at most 2^31-1 ms; longer waits are re-armed in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
// Timers may fire a millisecond early after rounding; such a fire still counts as due.
const EARLY_TOLERANCE_MS = 5;

/**
 * Fires `onFire` at every schedule's times with one timer for the earliest. Times missed
 * while the process was asleep are skipped, not replayed.
 */
export class Scheduler {
  private readonly next: Array<number | undefined>;
  private timer: unknown;
  private running = false;

  constructor(
    private readonly schedules: CompiledSchedule[],
    private readonly onFire: (schedule: CompiledSchedule, at: number) => void,
    private readonly clock: Clock = systemClock,
  ) {
    this.next = schedules.map(() => undefined);
  }

  start(): void {
    this.running = true;
    const now = this.clock.now();
    this.schedules.forEach((s, i) => (this.next[i] = s.nextAfter(now)));
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** The earliest next fire time and its schedule, if any schedule fires again. */
  upcoming(): { at: number; schedule: CompiledSchedule } | undefined {
    let best: { at: number; schedule: CompiledSchedule } | undefined;
    this.next.forEach((at, i) => {
      if (at !== undefined && (!best || at < best.at)) best = { at, schedule: this.schedules[i] };
    });
    return best;
  }

  private arm(): void {
    if (!this.running) return;
    const soonest = this.upcoming();
    if (!soonest) return;
    const wait = Math.max(0, soonest.at - this.clock.now());
    this.timer = this.clock.setTimer(() => this.tick(), Math.min(wait, MAX_TIMER_MS));
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    const due: Array<[CompiledSchedule, number]> = [];
    this.next.forEach((at, i) => {
      if (at !== undefined && at <= now + EARLY_TOLERANCE_MS) {
        due.push([this.schedules[i], at]);
        this.next[i] = this.schedules[i].nextAfter(Math.max(at, now));
      }
    });
    this.arm();
    for (const [schedule, at] of due) this.onFire(schedule, at);
  }
}

/** "Fri 27 Nov 09:00 Europe/London": a fire time as people in that zone read it. */
export function formatFireTime(at: number, tz: string): string {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const seconds = part("second") !== "00" ? `:${part("second")}` : "";
  return `${part("weekday")} ${part("day")} ${part("month")} ${part("hour")}:${part("minute")}${seconds} ${tz}`;
}
