/**
 * Waits `ms`, or less if a signal aborts first. Resolves true when the full wait passed,
 * false when it was cut short (a stopped run, a closing node): callers stop there.
 */
export function delay(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<boolean> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (live.some((s) => s.aborted)) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (full: boolean) => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener("abort", onAbort);
      resolve(full);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    for (const s of live) s.addEventListener("abort", onAbort, { once: true });
  });
}
