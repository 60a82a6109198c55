import { compileGetter } from "./paths";
import { compileTemplate, type TemplateView } from "./templates";
import { withMeta } from "./meta";
import type { Meta } from "./message";
import { checkWritableKey } from "./keys";

/** One row of the set variables shape. */
export interface VariableRule {
  target: "flow" | "meta";
  key: string;
  valueType: "str" | "num" | "bool" | "json" | "template" | "path" | "env";
  value: string;
}

export interface RuleContext {
  payload: unknown;
  view: () => TemplateView;
  env: (name: string) => unknown;
}

export interface CompiledRule {
  rule: VariableRule;
  label: string;
  evaluate(ctx: RuleContext): unknown;
}

/** Compiles every rule once; a bad rule throws naming its row. */
export function compileRules(rules: VariableRule[]): CompiledRule[] {
  if (!Array.isArray(rules) || rules.length === 0)
    throw new Error("there are no variables to set: add at least one row");
  return rules.map((rule, i) => {
    const label = `row ${i + 1} (${rule.target} "${rule.key}")`;
    try {
      if (rule.target !== "flow" && rule.target !== "meta")
        throw new Error(`unknown target "${String(rule.target)}"`);
      if (!rule.key || !String(rule.key).trim()) throw new Error("the variable name is empty");
      // A flow variable name may be a path into the variable (Node-RED's context keys: a.b, a["b"]).
      const names = rule.target === "meta" ? [rule.key] : String(rule.key).split(/[.[\]'"\s]+/);
      for (const name of names) checkWritableKey(name, `the ${rule.target} variable "${rule.key}"`);
      return { rule, label, evaluate: compileValue(rule) };
    } catch (err) {
      throw new Error(`${label}: ${(err as Error).message}`, { cause: err });
    }
  });
}

function compileValue(rule: VariableRule): (ctx: RuleContext) => unknown {
  const text = rule.value ?? "";
  switch (rule.valueType) {
    case "str":
      return () => text;
    case "num": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n)) throw new Error(`"${text}" is not a number`);
      return () => n;
    }
    case "bool":
      if (text !== "true" && text !== "false") throw new Error(`"${text}" is not true or false`);
      return () => text === "true";
    case "json": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new Error(`the JSON value is not valid: ${(err as Error).message}`, { cause: err });
      }
      // Each message gets its own copy: a flow variable set from it may be changed later.
      return typeof parsed === "object" && parsed !== null ? () => structuredClone(parsed) : () => parsed;
    }
    case "template": {
      const render = compileTemplate(text);
      return (ctx) => render(ctx.view());
    }
    case "path": {
      const get = compileGetter(text);
      return (ctx) => get(ctx.payload);
    }
    case "env":
      if (!text.trim()) throw new Error("the environment variable name is empty");
      return (ctx) => ctx.env(text.trim());
    default:
      throw new Error(`unknown value type "${String(rule.valueType)}"`);
  }
}

/**
 * Applies the rules in order, so a later template sees meta set by an earlier row. Flow
 * writes are collected and returned; nothing is written until every row has evaluated, so
 * a failing row leaves flow context as it was.
 */
export function applyRules(
  rules: CompiledRule[],
  ctx: RuleContext & { meta: Meta; onMeta: (meta: Meta) => void },
): Array<[string, unknown]> {
  const flowWrites: Array<[string, unknown]> = [];
  let meta = ctx.meta;
  for (const compiled of rules) {
    let value: unknown;
    try {
      value = compiled.evaluate(ctx);
    } catch (err) {
      throw new Error(`${compiled.label}: ${(err as Error).message}`, { cause: err });
    }
    if (compiled.rule.target === "meta") {
      try {
        meta = withMeta(meta, { [compiled.rule.key]: value });
      } catch (err) {
        throw new Error(`${compiled.label}: ${(err as Error).message}`, { cause: err });
      }
      ctx.onMeta(meta);
    } else {
      flowWrites.push([compiled.rule.key, value]);
    }
  }
  return flowWrites;
}
