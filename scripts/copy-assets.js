// Node-RED looks up a node set's .html, locales/ and icons/ beside its compiled .js, and
// examples only at <module root>/examples, so the build lays them out that way.
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const at = (...p) => path.join(root, ...p);
const recursive = { recursive: true };

fs.cpSync(at("nodes"), at("dist"), {
  ...recursive,
  filter: (src) => fs.statSync(src).isDirectory() || src.endsWith(".html") || src.endsWith(".json"),
});
fs.cpSync(at("icons"), at("dist", "icons"), recursive);
fs.cpSync(at("locales"), at("dist", "locales"), recursive);
fs.cpSync(at("blueprints"), at("examples"), recursive);
