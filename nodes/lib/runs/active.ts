import type { RunService } from "./service";
import type { RunTracker } from "./tracker";

/**
 * The runtime's one run service (tracker and queue). The runs plugin sets it; shapes such as
 * the trigger reach it here. Unset (as under node-red-node-test-helper, which has no hooks)
 * runs start at once and nothing is tracked.
 */
let current: RunService | undefined;

export function setActiveService(service: RunService | undefined): void {
  current = service;
}

export function activeService(): RunService | undefined {
  return current;
}

export function activeTracker(): RunTracker | undefined {
  return current?.tracker;
}
