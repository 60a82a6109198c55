// `npm start`: Node-RED 4.1 on 127.0.0.1 with this package loaded from the source tree.
// The user directory (.node-red/, git-ignored) and its settings.js are created on first
// start, with a random credential secret so credentials are encrypted from the first deploy.
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { spawn } = require("child_process");

const root = path.join(__dirname, "..");
const userDir = process.env.PW_USER_DIR
  ? path.resolve(process.env.PW_USER_DIR)
  : path.join(root, ".node-red");
const settingsFile = path.join(userDir, "settings.js");

if (!fs.existsSync(settingsFile)) {
  fs.mkdirSync(userDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString("hex");
  fs.writeFileSync(
    settingsFile,
    `// Created by \`npm start\` on ${new Date().toISOString()}. Edit freely; it is not overwritten.
// Keep credentialSecret safe: without it the saved credentials (flows_cred.json) cannot be read.
module.exports = {
    uiHost: process.env.HOST || "127.0.0.1",
    uiPort: Number(process.env.PORT) || 1880,
    credentialSecret: process.env.PW_CREDENTIAL_SECRET || ${JSON.stringify(secret)},
    flowFile: "flows.json",
    flowFilePretty: true,
    // Loads node-red-contrib-patchworks straight from the repository (its package.json).
    nodesDir: [${JSON.stringify(root)}],
    httpNodeRoot: "/",
    httpAdminRoot: "/",
    diagnostics: { enabled: true, ui: true },
    telemetry: { enabled: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    functionExternalModules: false,
    // Flow and global variables (a "last synced at" watermark, caches) are kept on disk under
    // context/ and survive a restart; the memory store stays available by name ("memory").
    contextStorage: {
        default: { module: "localfilesystem" },
        memory: { module: "memory" }
    },
    // Settings of this package, e.g. the public URL webhooks are reached at behind a proxy:
    // patchworks: { publicBaseUrl: "https://integrations.example.com" },
    patchworks: {}
};
`,
    { mode: 0o600 },
  );
  console.log(`Created ${path.relative(root, settingsFile)} with a new credential secret.`);
}

const red = require.resolve("node-red/red.js");
const child = spawn(
  process.execPath,
  [red, "--userDir", userDir, "--settings", settingsFile, ...process.argv.slice(2)],
  {
    stdio: "inherit",
  },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(signal ? 0 : (code ?? 0)));
