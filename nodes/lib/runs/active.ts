import type { RunTracker } from "./tracker";

/**
 * The runtime's one run tracker. The runs plugin sets it; shapes such as the trigger reach
 * it here. Unset (as under node-red-node-test-helper, which has no hooks) nothing is tracked.
 */
let current: RunTracker | undefined;

export function setActiveTracker(tracker: RunTracker | undefined): void {
  current = tracker;
}

export function activeTracker(): RunTracker | undefined {
  return current;
}
