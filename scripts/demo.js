// `npm run demo`: Node-RED as `npm start` runs it, beside local stand-ins of TikTok Shop,
// Shopify, HubSpot, Klaviyo, WooCommerce and NetSuite (demo/: the contract-following fakes the
// tests use, filled with demo data), and one instance per stand-in ("Demo Shopify" …) already
// in the editor, so a blueprint installed from the Marketplace runs without any account.
//
// Its own user directory (.demo/, git-ignored), so the demo never touches `npm start`'s flows.
// Environment: PORT (the editor, 1880), PW_DEMO_PORT_BASE (first stand-in port, 18700; 0 for
// any free ports), PW_DEMO_DIR (the user directory).
const path = require("path");
const { ensureSettings, spawnNodeRed, root } = require("./node-red-settings");
const { startStandIns } = require("../demo/standins");
const { demoNodes, mergeDemoNodes } = require("../demo/provision");

const userDir = process.env.PW_DEMO_DIR ? path.resolve(process.env.PW_DEMO_DIR) : path.join(root, ".demo");
const port = Number(process.env.PORT) || 1880;
const portBase = process.env.PW_DEMO_PORT_BASE === undefined ? 18700 : Number(process.env.PW_DEMO_PORT_BASE);
const editor = `http://127.0.0.1:${port}`;

async function waitForEditor(child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null)
      throw new Error(`Node-RED exited (code ${child.exitCode}) before it was ready`);
    try {
      if ((await fetch(`${editor}/settings`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Node-RED did not answer at ${editor} within 2 minutes`);
}

/** Adds the demo instances (or points them at this start's stand-ins) through the admin API. */
async function provision(standIns) {
  const headers = { "content-type": "application/json", "node-red-api-version": "v2" };
  const current = await (await fetch(`${editor}/flows`, { headers })).json();
  const next = mergeDemoNodes(current.flows, demoNodes(standIns.systems));
  if (!next) return false;
  const res = await fetch(`${editor}/flows`, {
    method: "POST",
    headers: { ...headers, "node-red-deployment-type": "full" },
    body: JSON.stringify({ rev: current.rev, flows: next }),
  });
  if (!res.ok) throw new Error(`could not add the demo instances: ${res.status} ${await res.text()}`);
  return true;
}

async function main() {
  const standIns = await startStandIns({ portBase });
  const settingsFile = ensureSettings(userDir, {
    port,
    note: "The demo's Node-RED (npm run demo): instances point at the stand-ins in demo/.",
  });
  const child = spawnNodeRed(userDir, settingsFile, process.argv.slice(2));
  const stop = async (code) => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await standIns.close();
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(0));
  child.on("exit", (code) => stop(code ?? 0));
  await waitForEditor(child);
  const changed = await provision(standIns);
  const width = Math.max(...standIns.systems.map((s) => s.name.length));
  console.log(
    [
      "",
      `Patchworks demo ready${changed ? " (demo instances added)" : ""}. Open the editor: ${editor}`,
      "",
      "  1. Marketplace tab (right sidebar) > TikTok Shop orders into Shopify > Install;",
      '     keep the "Demo TikTok Shop" and "Demo Shopify" instances it offers.',
      "  2. Enable the new tab, Deploy, and press the button of its trigger.",
      "  3. Watch the run in the Runs tab; see the orders arrive on the Shopify stand-in's page.",
      "",
      "Stand-ins (read-only pages of what each holds):",
      ...standIns.systems.map((s) => `  ${s.name.padEnd(width)}  ${s.page}`),
      "",
    ].join("\n"),
  );
}

main().catch((err) => {
  console.error(`npm run demo: ${err.message}`);
  process.exit(1);
});
