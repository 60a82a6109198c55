// What the package registers, read from package.json so that a new shape is checked by every
// spec that lists them: shapes in the palette, config nodes, and editor plugins.
const pkg = require("../../package.json");

/** Node sets that register a config node (no palette entry of category patchworks). */
const CONFIG_NODES = ["pw-instance", "pw-lookup-table", "pw-connector", "pw-smtp", "pw-saved-script"];
/** Every node set; each registers the type of its own name. */
const NODE_SETS = Object.keys(pkg["node-red"].nodes);
/** The shapes: palette category patchworks, each with an icon. */
const SHAPES = NODE_SETS.filter((t) => !CONFIG_NODES.includes(t));
const PLUGINS = Object.keys(pkg["node-red"].plugins);

module.exports = { CONFIG_NODES, NODE_SETS, SHAPES, PLUGINS };
