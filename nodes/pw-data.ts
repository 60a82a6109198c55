import type { NodeAPI } from "node-red";

/**
 * The Data sidebar (pw-data.html): the caches and de-dupe data pools this runtime keeps, with
 * their sizes, and a way to clear one. It reads the cache and de-dupe shapes' own admin routes
 * (GET/DELETE pw/cache, GET/DELETE pw/dedupe/pools), so it holds no rule of its own.
 */
export = function (RED: NodeAPI) {
  RED.plugins.registerPlugin("pw-data", { type: "pw-data" } as never);
};
