// Small pure rules of the scale-out mode, kept apart so the unit tests reach them without Redis.
import { MANUAL_RANK } from "../runs/queue";

/**
 * BullMQ's priority for a queue rank: 1 is first. Manual runs and retries (MANUAL_RANK) get 1,
 * then highest … lowest 2 … 6. Never 0: BullMQ takes jobs without a priority before all others.
 */
export function jobPriority(rank: number): number {
  const r = Number.isInteger(rank) ? rank : 2;
  return Math.min(Math.max(r, MANUAL_RANK), 4) - MANUAL_RANK + 1;
}

/** The line a taken-over run's log gets. */
export function takeoverNote(worker: string, from: string | undefined, at = new Date()): string {
  return `${at.toISOString()} taken over by worker ${worker} after worker ${from ?? "(unknown)"} stopped; resumed from its checkpoints`;
}

/** A worker id when settings.js names none: host name and process id, as leases and the run log show it. */
export function defaultWorkerId(host: string, pid: number): string {
  return `${host}-${pid}`;
}
