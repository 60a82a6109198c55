// Unconfigured is visible: an instance without its required secret is invalid in the editor
// (the runtime judges it, by the client's own rule), and so is a shape using it, before any
// deploy; deploying warns of both; once the secret is saved the instance stays valid after the
// deploy drops the credentials from the editor.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

const flows = [
  { id: "f1", type: "tab", label: "Orders" },
  {
    id: "inst",
    type: "pw-instance",
    name: "Acme store",
    connector: "shopify",
    vars: { shop: "acme.myshopify.com" },
    secretSlots: {},
    timeoutSec: 30,
    attempts: 3,
  },
  {
    id: "conn",
    type: "pw-connection",
    z: "f1",
    name: "Orders",
    instance: "inst",
    endpoint: "list-orders",
    params: [],
    concurrency: 1,
    x: 200,
    y: 80,
    wires: [[]],
  },
];

describe("unconfigured instances in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor({}, flows);
    page = ed.page;
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  const validity = () =>
    page.evaluate(() => ({
      inst: RED.nodes.node("inst").valid,
      conn: RED.nodes.node("conn").valid,
      errors: RED.nodes.node("inst").validationErrors,
      connErrors: RED.nodes.node("conn").validationErrors,
    }));

  it("marks an instance without its required secret invalid, and the shape using it", async function () {
    const v = await waitUntil(
      async () => {
        const now = await validity();
        return now.inst === false && now.conn === false && now;
      },
      "the instance and its shape to be flagged",
      10000,
      100,
    );
    assert.deepEqual(v.errors, ['the instance of Shopify needs "Admin API access token"']);
    // The red triangle on the canvas.
    await page.waitForSelector("g.red-ui-flow-node-group[id='conn'] .red-ui-flow-node-error:not(.hide)");
  });

  it("warns of them when deploying, as of other invalid nodes", async function () {
    // Something to deploy.
    await page.evaluate(() => {
      const conn = RED.nodes.node("conn");
      conn.name = "Orders (all)";
      conn.changed = true;
      conn.dirty = true;
      RED.nodes.dirty(true);
      RED.view.redraw();
    });
    await page.click("#red-ui-header-button-deploy");
    const dialog = page.locator(".red-ui-deploy-dialog-confirm-list");
    await dialog.waitFor();
    const listed = await dialog.textContent();
    assert.match(listed, /Acme store \(pw-instance\)/);
    assert.match(listed, /Orders \(all\) \(pw-connection\)/);
    await page.locator(".red-ui-notification button:has-text('Cancel')").click();
  });

  it("is valid once the secret is typed, and stays valid after the deploy saves it", async function () {
    await page.evaluate(() => RED.editor.editConfig("", "pw-instance", "inst"));
    await page.waitForSelector("#node-config-input-connector", { state: "visible" });
    const secret = page.locator(".pw-instance-secret-row:visible input[type='password']");
    await secret.waitFor();
    await secret.fill("shpat_typed_in_the_dialog");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-connector", { state: "detached" });
    await waitUntil(
      async () => {
        const now = await validity();
        return now.inst === true && now.conn === true;
      },
      "both valid (" + JSON.stringify(await validity()) + ")",
      10000,
      100,
    );
    await ed.deploy();
    assert.equal(
      await page.evaluate(() => RED.nodes.node("inst").credentials),
      undefined,
      "dropped by the deploy",
    );
    // The runtime is asked again and answers from the saved credentials.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await validity(), { inst: true, conn: true, errors: [], connErrors: [] });
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
