// The Node-RED editor in headless Chromium (Debian's /usr/bin/chromium, installed by
// .ci/run), driven by playwright-core, against a real runtime from ./runtime.js.
const fs = require("fs");
const { chromium } = require("playwright-core");
const { startRuntime } = require("./runtime");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts a runtime (deploying `flows` first, if given) and opens the editor on it. */
async function openEditor(settings = {}, flows) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium" (.ci/run does) or set CHROMIUM_PATH`,
    );
  }
  // No palette catalogue: tests reach no server but their own.
  const rt = await startRuntime({
    httpNodeRoot: "/",
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    ...settings,
  });
  if (flows) await rt.deploy(flows);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  // A request the page itself gave up on (ERR_ABORTED: the editor dropping a script it no longer
  // needs as a dialog closes) is no failure of ours; any other failed request is.
  page.on("requestfailed", (r) => {
    const why = r.failure()?.errorText;
    if (why !== "net::ERR_ABORTED") consoleErrors.push(`request failed: ${r.url()} ${why}`);
  });
  await page.goto(rt.url + "/");
  await page.waitForSelector(".red-ui-palette-node[data-palette-type='pw-trigger']", { timeout: 30000 });
  // The editor finishes its first layout after the palette; give it that moment.
  await page.waitForFunction(() => window.RED && RED.nodes && RED.workspaces.active());

  /** Drags a palette node onto the canvas and returns its new id. */
  async function addNode(type, x, y) {
    const before = await page.evaluate(() => {
      const ids = [];
      RED.nodes.eachNode((n) => ids.push(n.id));
      return ids;
    });
    const item = page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
    await item.scrollIntoViewIfNeeded();
    const from = await item.boundingBox();
    const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(chart.x + x, chart.y + y, { steps: 12 });
    await page.mouse.up();
    return page.evaluate((known) => {
      let id;
      RED.nodes.eachNode((n) => {
        if (!known.includes(n.id)) id = n.id;
      });
      return id;
    }, before);
  }

  /** Opens a canvas node's edit dialog by double-clicking it, as a user does. */
  async function openDialog(id) {
    await page.locator(`g.red-ui-flow-node-group[id='${id}'] rect.red-ui-flow-node`).dblclick();
    await page.waitForSelector("#node-dialog-ok", { state: "visible" });
  }

  async function pressDone() {
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
  }

  async function deploy() {
    await page.click("#red-ui-header-button-deploy");
    await page
      .waitForFunction(
        () => !document.querySelector("#red-ui-header-button-deploy").classList.contains("disabled"),
        null,
        { timeout: 1 },
      )
      .catch(() => {});
    await page.waitForSelector(".red-ui-notification:has-text('Successfully deployed')", { timeout: 15000 });
  }

  async function close() {
    await browser.close();
    await rt.stop();
  }

  return { rt, page, consoleErrors, addNode, openDialog, pressDone, deploy, close };
}

/**
 * An afterEach for editor specs: a failed test leaves a screenshot in test-results/ and no
 * dialog open to block the next test's canvas.
 */
function screenshotOnFailure(getPage) {
  return async function () {
    if (this.currentTest.state !== "failed") return;
    const page = getPage();
    fs.mkdirSync("test-results", { recursive: true });
    await page
      .screenshot({ path: `test-results/${this.currentTest.title.replace(/\W+/g, "-")}.png` })
      .catch(() => {});
    if (await page.isVisible("#node-dialog-cancel").catch(() => false)) {
      await page.click("#node-dialog-cancel");
      await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
    }
  };
}

module.exports = { openEditor, screenshotOnFailure };
