// Tests run against the compiled package in dist/, as Node-RED loads it.
const path = require("path");
const root = path.join(__dirname, "..", "..");
module.exports = {
  root,
  lib: (name) => require(path.join(root, "dist", "lib", name)),
  node: (name) => require(path.join(root, "dist", name)),
};
