/**
 * Webhook paths owned by triggers in this process. Express would happily stack two handlers
 * on one path and only the first would ever answer, so a second claim is refused instead.
 */
const owners = new Map<string, string>();

export function normalisePath(path: string): string {
  const trimmed = String(path ?? "").trim();
  if (!trimmed || trimmed === "/")
    throw new Error('the webhook path is empty: give one such as "/orders/created"');
  if (/[?#\s]/.test(trimmed))
    throw new Error(`the webhook path "${trimmed}" may not contain spaces, "?" or "#"`);
  const withSlash = trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
  return withSlash.replace(/\/{2,}/g, "/").replace(/\/$/, "");
}

/**
 * First path segments of Node-RED's admin API and editor (admin API docs; editor-api's routes
 * and static resources), and of the routes nodes add to it (inject, debug, ours under pw).
 */
const ADMIN_SEGMENTS = new Set([
  "auth",
  "flows",
  "flow",
  "nodes",
  "context",
  "settings",
  "plugins",
  "diagnostics",
  "icons",
  "resources",
  "theme",
  "projects",
  "locales",
  "library",
  "credentials",
  "red",
  "vendor",
  "types",
  "core",
  "comms",
  "debug",
  "inject",
  "pw",
  "favicon.ico",
  "admin",
]);

/**
 * Why a webhook at `fullPath` (node root included) would take requests meant for the admin
 * API mounted at `adminRoot`, or undefined when it would not. When both roots are the same a
 * trigger at /flows made every later deploy fail.
 */
export function adminConflict(fullPath: string, adminRoot: string | false | undefined): string | undefined {
  if (adminRoot === false) return undefined;
  const root = (adminRoot || "/").replace(/\/+$/, "").toLowerCase();
  const path = fullPath.toLowerCase();
  if (root && path !== root && !path.startsWith(root + "/")) return undefined;
  const first = path.slice(root.length).split("/").filter(Boolean)[0] ?? "";
  if (first.startsWith(":"))
    return `the webhook path "${fullPath}" starts with a parameter under the editor's address (${adminRoot || "/"}), so it would answer requests meant for the editor: start it with a fixed segment such as "/hooks"`;
  if (ADMIN_SEGMENTS.has(first))
    return `the webhook path "${fullPath}" is taken by the editor's admin API (${adminRoot || "/"}${first}): choose another path, or give webhooks their own root (httpNodeRoot in settings.js)`;
  return undefined;
}

// Express matches paths case-insensitively by default, so ownership does too.
const keyOf = (path: string) => path.toLowerCase();

export function claimPath(path: string, owner: string): void {
  const key = keyOf(path);
  const current = owners.get(key);
  if (current !== undefined && current !== owner) {
    throw new Error(`the webhook path "${path}" is already used by trigger ${current}: choose another path`);
  }
  owners.set(key, owner);
}

export function releasePath(path: string, owner: string): void {
  const key = keyOf(path);
  if (owners.get(key) === owner) owners.delete(key);
}

/** A minimal view of an Express app, enough to add and remove one route. */
export interface RouterApp {
  all(path: string, handler: (...args: never[]) => unknown): unknown;
  _router?: { stack: Array<{ route?: { stack: Array<{ handle: unknown }> } }> };
  router?: { stack: Array<{ route?: { stack: Array<{ handle: unknown }> } }> };
}

export function mountRoute(app: RouterApp, path: string, handler: (...args: never[]) => unknown): () => void {
  app.all(path, handler);
  return () => {
    const stack = (app._router ?? app.router)?.stack;
    if (!stack) return;
    for (let i = stack.length - 1; i >= 0; i--) {
      if (stack[i].route?.stack.some((layer) => layer.handle === handler)) stack.splice(i, 1);
    }
  };
}
