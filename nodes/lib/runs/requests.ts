import type { RequestRecord } from "../records";
import type { StepExtras } from "./steps";

/** Requests listed per step; a long paginated pull keeps its latest ones. */
export const MAX_REQUESTS_PER_STEP = 200;

/** Adds a request to a step's list, dropping the oldest beyond the cap (and counting them). */
export function addRequest(extra: StepExtras, request: RequestRecord): void {
  const list = (extra.requests ??= []);
  list.push(request);
  if (list.length > MAX_REQUESTS_PER_STEP) {
    list.shift();
    extra.requestsDropped = (extra.requestsDropped ?? 0) + 1;
  }
}
