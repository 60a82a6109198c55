// The editor's message catalogues: every key the dialogs, the Runs sidebar and the editor
// plugin ask for is in locales/en-US, and the two plugins keep no English of their own.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { root, lib } = require("../support/dist");

const nodesDir = path.join(root, "nodes");
const catalogue = (base) =>
  JSON.parse(fs.readFileSync(path.join(root, "locales", "en-US", `${base}.json`), "utf8"));
const has = (cat, key) =>
  typeof key.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), cat) === "string";
const sets = fs
  .readdirSync(nodesDir)
  .filter((f) => f.endsWith(".html"))
  .map((f) => f.replace(/\.html$/, ""));
const PLUGINS = ["pw-runs", "pw-editor"];

/**
 * The literal catalogue keys a file asks for: _("…"), this._/node._/RED._("…"), data-i18n="…".
 * Keys built at run time ("pw-runs.status." + status) are covered by the tests below.
 */
function keysIn(text) {
  const keys = [];
  for (const m of text.matchAll(/\b_\(\s*"([^"]+)"(?!\s*\+)/g)) keys.push(m[1]);
  for (const m of text.matchAll(/data-i18n="([^"]+)"/g))
    for (const part of m[1].split(";")) keys.push(part.replace(/^\[[^\]]+\]/, ""));
  return keys;
}

describe("editor message catalogues", function () {
  it("has every key the editor files ask for in their own namespace, in locales/en-US", function () {
    const missing = [];
    for (const base of sets) {
      const text = fs.readFileSync(path.join(nodesDir, `${base}.html`), "utf8");
      // Ours start with a type's name; others (node-red:…, Node-RED's own) are Node-RED's.
      const own = keysIn(text).filter((k) => k.startsWith("pw-") && !k.includes(":"));
      assert.ok(
        own.length === 0 || fs.existsSync(path.join(root, "locales", "en-US", `${base}.json`)),
        `${base}.html asks for messages but locales/en-US/${base}.json does not exist`,
      );
      const cat = own.length ? catalogue(base) : {};
      for (const key of own) if (!has(cat, key)) missing.push(`${base}: ${key}`);
    }
    assert.deepEqual(missing, []);
  });

  it("has the status texts the runtime side sets on nodes", function () {
    const missing = [];
    for (const base of sets) {
      const file = path.join(nodesDir, `${base}.ts`);
      if (!fs.existsSync(file)) continue;
      for (const m of fs.readFileSync(file, "utf8").matchAll(/"(pw-[a-z-]+\.status\.[a-z-]+)"/g)) {
        const [ns] = m[1].split(".");
        if (!has(catalogue(ns), m[1])) missing.push(`${base}.ts: ${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("names every operator, group, type, unit and value source the runtime describes", function () {
    const cat = catalogue("pw-editor");
    const rules = lib("editor-checks").conditionRules();
    const keys = [
      ...rules.operators.flatMap((o) => [`pw-editor.op.${o.op}`, `pw-editor.describe.op.${o.op}`]),
      ...rules.groups.map((g) => `pw-editor.group.${g}`),
      ...rules.types.map((t) => `pw-editor.type.${t}`),
      ...rules.units.map((u) => `pw-editor.unit.${u}`),
      ...rules.sources.map((s) => `pw-editor.source.${s}`),
    ];
    assert.deepEqual(
      keys.filter((k) => !has(cat, k)),
      [],
    );
  });

  it("names every run status", function () {
    const cat = catalogue("pw-runs");
    const missing = lib("runs/record")
      .RUN_STATUSES.map((s) => `pw-runs.status.${s.replace(/ /g, "-")}`)
      .filter((k) => !has(cat, k));
    assert.deepEqual(missing, []);
  });

  // A heuristic, but one that catches the usual slips: English in markup built by the
  // script, in .text("…"), RED.notify("…"), a title or placeholder attribute, or a label,
  // name or key property.
  for (const base of PLUGINS) {
    it(`${base}.html shows no English of its own: every word comes from its catalogue`, function () {
      const html = fs.readFileSync(path.join(nodesDir, `${base}.html`), "utf8");
      const script = html.slice(html.indexOf("<script"), html.lastIndexOf("</script>"));
      const code = script.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      const found = [
        ...[...code.matchAll(/'[^'\n]*>([^<>'\n]*[A-Za-z]{2,}[^<>'\n]*)<[^'\n]*'/g)].map((m) => m[1]),
        ...[...code.matchAll(/\.text\(\s*"([^"]*[A-Za-z][^"]*)"/g)].map((m) => m[1]),
        ...[...code.matchAll(/(?:title|placeholder)=\\?"([^"\\]*[A-Za-z][^"\\]*)\\?"/g)].map((m) => m[1]),
        ...[...code.matchAll(/RED\.notify\(\s*"([^"]*)"/g)].map((m) => m[1]),
        ...[...code.matchAll(/\b(?:label|name|key):\s*"([^"]*[A-Za-z][^"]*)"/g)].map((m) => m[1]),
      ];
      assert.deepEqual(found, []);
    });
  }
});
