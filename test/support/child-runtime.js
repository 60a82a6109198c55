// A Node-RED runtime in a process of its own, for tests that kill it (SIGKILL) or stop it
// (SIGTERM, as Node-RED's own red.js: stop, then exit 0) and start it again on the same
// user directory. Usage: node child-runtime.js <userDir> [settings JSON]; prints
// "listening <url>" once started. Its `sink` global appends a line to <userDir>/sink.txt at
// once (synchronously), so what ran before a kill is on record.
const fs = require("fs");
const path = require("path");
const http = require("http");
const { root } = require("./dist");

async function main() {
  const userDir = process.argv[2];
  const extra = JSON.parse(process.argv[3] || "{}");
  // A context store module given as { require: path } (settings JSON cannot carry a function).
  for (const store of Object.values(extra.contextStorage ?? {}))
    if (store && typeof store.module === "object" && store.module.require)
      store.module = require(store.module.require);
  const RED = require("node-red");
  const express = require("express");
  const app = express();
  const server = http.createServer(app);
  const sinkFile = path.join(userDir, "sink.txt");
  RED.init(server, {
    userDir,
    credentialSecret: "test-secret-for-runtime",
    nodesDir: [root],
    httpAdminRoot: "/",
    httpNodeRoot: "/hooks",
    uiHost: "127.0.0.1",
    flowFile: "flows.json",
    telemetry: { enabled: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: "off" } },
    functionGlobalContext: { sink: (line) => fs.appendFileSync(sinkFile, `${line}\n`) },
    ...extra,
  });
  app.use("/", RED.httpAdmin);
  app.use("/hooks", RED.httpNode);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  await RED.start();
  const stop = () => RED.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.log(`listening http://127.0.0.1:${server.address().port}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
