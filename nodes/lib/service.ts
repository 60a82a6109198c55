import type { ScheduleSpec } from "./schedule";
import { compileSchedules } from "./trigger-config";
import { compileConditions, type Matcher } from "./conditions";

/**
 * The legacy Patchworks "service" (source → target on a schedule) as settings over the one
 * engine: schedules (trigger-config), filters (conditions), a mapping (mapping/), the
 * connector client's pull and send. This module checks the settings that are the service's
 * own (the "since" window, page size, attempts) and works out the "since" time of a run.
 */

/** Units of a relative "since" (the product allows seconds to years before now). */
export const SINCE_UNIT_MS = {
  seconds: 1000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 7 * 86_400_000,
  months: 30 * 86_400_000,
  years: 365 * 86_400_000,
} as const;
export type SinceUnit = keyof typeof SINCE_UNIT_MS;

export interface ServiceSettings {
  schedules?: ScheduleSpec[];
  /** Which records to pull: all, those changed since a time before now, or since the last successful run. */
  since?: "all" | "ago" | "last-success";
  sinceAmount?: number | string;
  sinceUnit?: string;
  /** The source endpoint's parameter that takes the "since" time (e.g. Shopify's updated_at_min). */
  sinceParam?: string;
  /** Conditions on the pulled records (filter's engine); relative dates count from the run's start. */
  filters?: unknown;
  pageSize?: number | string;
  attempts?: number | string;
}

export interface CompiledService {
  schedules: ReturnType<typeof compileSchedules>;
  filter?: Matcher;
  pageSize?: number;
  attempts?: number;
  /** The "since" time of a run started at `now`, given the last successful run's start; undefined: everything. */
  since(now: number, lastSuccess: number | undefined): number | undefined;
}

function whole(value: unknown, min: number, max: number, what: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${what} must be a whole number from ${min} to ${max}, not "${String(value)}"`);
  return n;
}

/** Checks and compiles a service's own settings once, at deploy; errors name the setting. */
export function compileService(s: ServiceSettings): CompiledService {
  const schedules = compileSchedules(s.schedules);
  let filter: Matcher | undefined;
  try {
    filter = compileConditions(s.filters);
  } catch (err) {
    throw new Error(`filters: ${(err as Error).message}`, { cause: err });
  }
  if (filter.always) filter = undefined;
  const pageSize = whole(s.pageSize, 1, 10000, "the page size");
  const attempts = whole(s.attempts, 1, 10, "attempts");
  const mode = s.since || "all";
  if (mode !== "all" && mode !== "ago" && mode !== "last-success")
    throw new Error(`"since" must be all, ago or last-success, not "${String(mode)}"`);
  if (mode !== "all" && !String(s.sinceParam ?? "").trim())
    throw new Error(
      "pulling only what changed needs the source endpoint's parameter that takes the time (e.g. updated_at_min): choose it",
    );
  let windowMs = 0;
  if (mode === "ago") {
    const amount = whole(s.sinceAmount, 1, 1_000_000, '"changed in the last" amount');
    if (amount === undefined) throw new Error('"changed in the last" needs an amount, e.g. 1 hour');
    const unit = String(s.sinceUnit || "hours");
    if (!Object.hasOwn(SINCE_UNIT_MS, unit))
      throw new Error(`unknown unit "${unit}": use ${Object.keys(SINCE_UNIT_MS).join(", ")}`);
    windowMs = amount * SINCE_UNIT_MS[unit as SinceUnit];
  }
  return {
    schedules,
    filter,
    pageSize,
    attempts,
    since(now, lastSuccess) {
      if (mode === "ago") return now - windowMs;
      if (mode === "last-success") return lastSuccess;
      return undefined;
    },
  };
}

/** How a service is labelled on the canvas without a name. */
export function serviceLabel(s: { sourceEndpoint?: string; targetEndpoint?: string }): string {
  const words = (id?: string) => (id ?? "").replace(/-/g, " ").trim();
  const from = words(s.sourceEndpoint);
  const to = words(s.targetEndpoint);
  return from || to ? `${from || "?"} → ${to || "?"}` : "service";
}
