// `npm start`: Node-RED 4.1 on 127.0.0.1 with this package loaded from the source tree.
// The user directory (.node-red/, git-ignored) and its settings.js are created on first
// start, with a random credential secret so credentials are encrypted from the first deploy.
const path = require("path");
const { ensureSettings, spawnNodeRed, root } = require("./node-red-settings");

const userDir = process.env.PW_USER_DIR
  ? path.resolve(process.env.PW_USER_DIR)
  : path.join(root, ".node-red");
const child = spawnNodeRed(userDir, ensureSettings(userDir), process.argv.slice(2));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(signal ? 0 : (code ?? 0)));
