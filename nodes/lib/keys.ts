/**
 * Keys that must never be written from user input: assigning `obj["__proto__"]` replaces an
 * object's prototype (through a path, Object.prototype itself: every object in the process),
 * and `constructor` / `prototype` lead to the same place. Writers of user-supplied names
 * refuse them when they compile; code that copies data keys (a webhook form, a redacted
 * copy) keeps them as plain data with `setKey`.
 */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export function isUnsafeKey(key: unknown): boolean {
  return typeof key === "string" && UNSAFE_KEYS.has(key);
}

/** The error a writer gives for an unsafe name; `what` says where it was found. */
export function unsafeKeyError(key: string, what: string): Error {
  return new Error(
    `${what} uses "${key}" as a name to write, which is refused: __proto__, constructor and prototype ` +
      `could change every object in Node-RED. Use another name`,
  );
}

/** Throws unless the name can be written. */
export function checkWritableKey(key: string, what: string): void {
  if (UNSAFE_KEYS.has(key)) throw unsafeKeyError(key, what);
}

/**
 * Sets a data key on a plain object: `__proto__` becomes an own property (as JSON.parse makes
 * it) instead of replacing the object's prototype.
 */
export function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** An own property only: reading `__proto__` or `constructor` never reaches a prototype. */
export function ownValue(holder: unknown, key: string | number): unknown {
  return holder !== null && typeof holder === "object" && Object.hasOwn(holder, key)
    ? (holder as Record<string | number, unknown>)[key]
    : undefined;
}
