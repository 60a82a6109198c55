// node-red-node-test-helper, set up once for node-level specs: load our node sets with a
// flow, collect what `helper` nodes receive, and spy on errors that reach Catch nodes.
const helper = require("node-red-node-test-helper");
const { node } = require("./dist");
const { nextEvent } = require("./wait");

helper.init(require.resolve("node-red"));

const ALL = [
  "pw-trigger",
  "pw-manual-payload",
  "pw-set-variables",
  "pw-run-flow",
  "pw-callback",
  "pw-filter",
  "pw-route",
  "pw-flow-control",
  "pw-split",
  "pw-branch",
  "pw-map",
  "pw-lookup-table",
  "pw-instance",
  "pw-connection",
  "pw-connector",
  "pw-dedupe",
  "pw-cache",
  "pw-script",
  "pw-saved-script",
  "pw-assert",
  "pw-smtp",
  "pw-notify",
  "pw-track-data",
  "pw-service",
].map((n) => node(n));

/** Loads the flow with every node set of this package; credentials keyed by node id. */
function load(flow, credentials) {
  return new Promise((resolve, reject) => {
    try {
      helper.load(ALL, flow, credentials || {}, () => resolve());
    } catch (err) {
      reject(err);
    }
  });
}

/** The next message a node (usually a `helper` node) receives. */
function nextMessage(id, ms) {
  return nextEvent(helper.getNode(id), "input", ms);
}

/** Every message a node receives from now on. */
function collect(id) {
  const out = [];
  helper.getNode(id).on("input", (msg) => out.push(msg));
  return out;
}

/** Resolves with the error text the node reports (node.error / done(err)). */
function nextError(id, ms) {
  return nextEvent(helper.getNode(id), "call:error", ms).then((call) => call.args[0]);
}

module.exports = { helper, load, nextMessage, collect, nextError };
