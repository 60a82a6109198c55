// The settings.js that `npm start` and `npm run demo` create on first start (never overwritten:
// users edit it), and how both start Node-RED with it.
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { spawn } = require("child_process");

const root = path.join(__dirname, "..");

/** Writes <userDir>/settings.js unless it exists; returns its path. */
function ensureSettings(userDir, { port = 1880, note = "" } = {}) {
  const settingsFile = path.join(userDir, "settings.js");
  if (fs.existsSync(settingsFile)) return settingsFile;
  fs.mkdirSync(userDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString("hex");
  fs.writeFileSync(
    settingsFile,
    `// Created on ${new Date().toISOString()}. Edit freely; it is not overwritten.${note ? `\n// ${note}` : ""}
// Keep credentialSecret safe: without it the saved credentials (flows_cred.json) cannot be read.
module.exports = {
    uiHost: process.env.HOST || "127.0.0.1",
    uiPort: Number(process.env.PORT) || ${port},
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
  return settingsFile;
}

/** Node-RED 4.1 with that user directory and settings, as a child process sharing our terminal. */
function spawnNodeRed(userDir, settingsFile, args = [], stdio = "inherit") {
  const red = require.resolve("node-red/red.js");
  return spawn(process.execPath, [red, "--userDir", userDir, "--settings", settingsFile, ...args], { stdio });
}

module.exports = { ensureSettings, spawnNodeRed, root };
