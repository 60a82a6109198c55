import type { PwMessage } from "../message";
import type { Clock } from "../schedule";

/** What a scope's messages came to (see Scopes.open). */
export interface ScopeResult {
  failed: boolean;
  /** Errors no Catch node handled, as "node: message". */
  errors: string[];
  /** Set when the run ended (stopped, timed out) before the scope finished. */
  ended?: string;
}

export interface Scope {
  token: string;
  /** The run the scope belongs to (whatever the tracker keeps for a run). */
  run: object;
  inFlight: number;
  timer?: unknown;
  errors: Array<{ node: string; text: string }>;
  /** Nodes whose errors on the scope's messages a Catch node received. */
  handled: Set<string>;
  /** Nodes holding the scope's messages: errors they log without a message are the scope's. */
  atNodes: Map<string, number>;
  onClose: (result: ScopeResult) => void;
}

/**
 * Scopes: everything that messages carrying a token in `msg.pw.scope` start, counted apart
 * from the rest of their run (a branch shape waits for one output's work before the next).
 * A scope closes once none of its messages is in flight for the settle window; errors on its
 * messages that no Catch node received make it failed.
 */
export class Scopes {
  private readonly open = new Map<string, Scope>();

  constructor(
    private readonly settleMs: number,
    private readonly clock: Clock,
  ) {}

  /** Open scopes; the tracker skips all scope work while there are none. */
  get size(): number {
    return this.open.size;
  }

  /** Opens a scope; false when the token is taken. */
  start(run: object, token: string, onClose: (result: ScopeResult) => void): boolean {
    if (this.open.has(token)) return false;
    const scope: Scope = {
      token,
      run,
      inFlight: 0,
      errors: [],
      handled: new Set(),
      atNodes: new Map(),
      onClose,
    };
    this.open.set(token, scope);
    // Nothing wired to the output: the scope closes after the settle window.
    this.settle(scope);
    return true;
  }

  /** The open scopes a message counts towards. */
  of(msg: PwMessage): Scope[] {
    const tokens: unknown = msg.pw?.scope;
    if (!Array.isArray(tokens)) return [];
    const out: Scope[] = [];
    for (const token of tokens) {
      const scope = this.open.get(token as string);
      if (scope) out.push(scope);
    }
    return out;
  }

  /** A message of the scopes it carries arrived at (1) or left (-1) a node. */
  count(msg: PwMessage, nodeId: string, delta: 1 | -1): void {
    for (const scope of this.of(msg)) {
      scope.inFlight = Math.max(0, scope.inFlight + delta);
      const at = (scope.atNodes.get(nodeId) ?? 0) + delta;
      if (at > 0) scope.atNodes.set(nodeId, at);
      else scope.atNodes.delete(nodeId);
      if (delta > 0 && scope.timer !== undefined) {
        this.clock.clearTimer(scope.timer);
        scope.timer = undefined;
      }
      if (scope.inFlight === 0) this.settle(scope);
    }
  }

  /** An error a node raised for a message: it counts against the scopes the message carries. */
  errorOn(scopes: Scope[], nodeId: string, text: string): void {
    for (const scope of scopes) scope.errors.push({ node: nodeId, text });
  }

  /** An error a node logged without a message: the scopes with messages at that node, and those it was handling. */
  errorAt(nodeId: string, text: string, handling: Scope[] | undefined): void {
    for (const scope of this.open.values())
      if (scope.atNodes.has(nodeId)) scope.errors.push({ node: nodeId, text });
    for (const scope of handling ?? [])
      if (!scope.atNodes.has(nodeId)) scope.errors.push({ node: nodeId, text });
  }

  /** A Catch node received an error from `source` on a message of these scopes. */
  caught(msg: PwMessage, source: string): void {
    for (const scope of this.of(msg)) scope.handled.add(source);
  }

  /** Closes every scope of a run that ended before they finished. */
  endRun(run: object, why: string): void {
    for (const [token, scope] of this.open) if (scope.run === run) this.close(token, scope, why);
  }

  private settle(scope: Scope): void {
    if (scope.timer !== undefined) this.clock.clearTimer(scope.timer);
    scope.timer = this.clock.setTimer(() => {
      scope.timer = undefined;
      if (scope.inFlight === 0) this.close(scope.token, scope);
    }, this.settleMs);
  }

  private close(token: string, scope: Scope, ended?: string): void {
    if (this.open.get(token) !== scope) return;
    this.open.delete(token);
    if (scope.timer !== undefined) this.clock.clearTimer(scope.timer);
    const unhandled = scope.errors.filter((e) => !scope.handled.has(e.node)).map((e) => e.text);
    scope.onClose({ failed: unhandled.length > 0 || ended !== undefined, errors: unhandled, ended });
  }
}
