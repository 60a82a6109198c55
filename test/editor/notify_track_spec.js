// The notify, SMTP server, track-data and trigger dialogs in Chromium as a non-programmer
// uses them; the flow they make deployed and run (email checked at a real SMTP server); the
// Runs sidebar's tracked-value search and a run's tracked values and notifications.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { startSmtp } = require("../support/smtp");
const { waitUntil } = require("../support/wait");

describe("notify and track data in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  let smtp;
  before(async () => {
    smtp = await startSmtp({ user: "bot", password: "s3cret" });
    ed = await openEditor({ patchworks: { runs: { settleMs: 40 } } });
    page = ed.page;
  });
  after(async () => {
    await ed.close();
    await smtp.close();
  });
  afterEach(screenshotOnFailure(() => page));
  const saved = (id) =>
    page.evaluate((nid) => {
      const n = RED.nodes.node(nid);
      return JSON.parse(JSON.stringify({ ...n, _def: undefined, _: undefined, dirty: undefined }));
    }, id);

  let trackId;
  it("sets up track data rows, flagging a bad path as it is typed", async function () {
    trackId = await ed.addNode("pw-track-data", 300, 100);
    await ed.openDialog(trackId);
    const rows = page.locator("#pw-track-fields .red-ui-editableList-item-content");
    await rows.nth(0).locator(".pw-track-name").fill("order");
    await rows.nth(0).locator(".pw-track-path").fill("order_number");
    await page.locator(".red-ui-editableList-addButton:has-text('value')").click();
    await rows.nth(1).locator(".pw-track-name").fill("email");
    const path = rows.nth(1).locator(".pw-track-path");
    await path.fill("customer..email");
    await waitUntil(
      async () => /path "customer\.\.email" has an empty key/.test(await path.getAttribute("title")),
      "the bad path explained",
    );
    assert.ok(await path.evaluate((e) => e.classList.contains("input-error")));
    await path.fill("customer.email");
    await waitUntil(
      async () => !(await path.evaluate((e) => e.classList.contains("input-error"))),
      "the path accepted",
    );
    await ed.pressDone();
    const node = await saved(trackId);
    assert.deepEqual(node.fields, [
      { name: "order", path: "order_number" },
      { name: "email", path: "customer.email" },
    ]);
    assert.equal(node.valid, true);
  });

  let notifyId;
  it("sets up a notify shape: message, level, a new SMTP server with a recipient group, and a Teams webhook", async function () {
    notifyId = await ed.addNode("pw-notify", 300, 200);
    await ed.openDialog(notifyId);
    await page.fill("#node-input-name", "Order alerts");
    await page.selectOption("#node-input-level", "warning");
    await page.fill("#node-input-template", "Order {{payload.0.order_number}} arrived {{#payload}}");
    await waitUntil(
      async () => /not valid/.test(await page.textContent("#pw-notify-problem")),
      "a bad template explained",
    );
    await page.fill("#node-input-template", "Order {{payload.0.order_number}} arrived");
    await page.fill("#node-input-subject", "Orders for {{meta.shop");
    await waitUntil(
      async () => /not valid/.test(await page.textContent("#pw-notify-problem")),
      "a bad subject explained",
    );
    await page.fill("#node-input-template", "Order {{payload.0.order_number}} arrived");
    await page.fill("#node-input-subject", "New order");
    await waitUntil(
      async () => (await page.textContent("#pw-notify-problem")) === "",
      "the template accepted",
    );
    await page.check("#node-input-email");
    assert.ok(await page.isVisible("#pw-notify-groups"));
    assert.match(await page.textContent("#pw-notify-groups"), /Pick an SMTP server/);
    // A new SMTP server, from the + beside the server list.
    await page.click("#node-input-btn-smtp-add");
    await page.waitForSelector("#node-config-input-host", { state: "visible" });
    await page.fill("#node-config-input-name", "Office mail");
    await page.fill("#node-config-input-host", "127.0.0.1");
    await page.fill("#node-config-input-port", String(smtp.port));
    await page.selectOption("#node-config-input-security", "none");
    await page.fill("#node-config-input-user", "bot");
    await page.fill("#node-config-input-password", "s3cret");
    await page.fill("#node-config-input-from", "Alerts <alerts@example.com>");
    await page.locator(".red-ui-editableList-addButton:has-text('group')").click();
    await page.fill(".pw-smtp-group-name", "ops");
    const to = page.locator(".pw-smtp-group-to");
    await to.fill("ops@example.com, not-an-address");
    await waitUntil(
      async () => /"not-an-address" is not an email address/.test(await to.getAttribute("title")),
      "the bad address explained",
    );
    assert.ok(await to.evaluate((e) => e.classList.contains("input-error")));
    await to.fill("ops@example.com\nlead@example.com");
    await waitUntil(
      async () => !(await to.evaluate((e) => e.classList.contains("input-error"))),
      "the addresses accepted",
    );
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-host", { state: "detached" });
    // The new server's groups are offered; tick one.
    const group = page.locator(".pw-notify-group[value='ops']");
    await group.waitFor();
    assert.match(await page.textContent("#pw-notify-groups"), /ops \(2\)/);
    await group.check();
    await page.check("#node-input-webhook");
    await page.selectOption("#node-input-webhookFormat", "teams");
    await page.fill("#node-input-webhookUrl", "https://example.invalid/webhook");
    await page.uncheck("#node-input-webhook");
    await ed.pressDone();
    const node = await saved(notifyId);
    assert.equal(node.level, "warning");
    assert.equal(node.template, "Order {{payload.0.order_number}} arrived");
    assert.equal(node.subject, "New order");
    assert.equal(node.email, true);
    assert.deepEqual(node.groups, ["ops"]);
    assert.equal(node.webhook, false);
    assert.equal(node.webhookFormat, "teams");
    assert.equal(node.valid, true);
    const server = await page.evaluate((id) => {
      const c = RED.nodes.node(id);
      return { type: c.type, groups: c.groups, password: c.password, host: c.host };
    }, node.smtp);
    assert.equal(server.type, "pw-smtp");
    assert.deepEqual(server.groups, [{ name: "ops", to: "ops@example.com\nlead@example.com" }]);
    assert.equal(server.password, undefined, "the password is a credential, not a property");
  });

  let triggerId;
  it("chooses the notify shape in the trigger's 'when a run fails, notify'", async function () {
    triggerId = await ed.addNode("pw-trigger", 100, 300);
    await ed.openDialog(triggerId);
    const options = await page.locator("#node-input-notifyOnFail option").allTextContents();
    assert.ok(
      options.some((o) => /^Order alerts/.test(o)),
      options.join(" | "),
    );
    await page.selectOption("#node-input-notifyOnFail", notifyId);
    await ed.pressDone();
    assert.equal((await saved(triggerId)).notifyOnFail, notifyId);
  });

  it("runs the flow it made: the email arrives, and the sidebar finds the run by a tracked value", async function () {
    await page.evaluate(
      ({ triggerId, trackId, notifyId }) => {
        RED.nodes.addLink({
          source: RED.nodes.node(triggerId),
          sourcePort: 0,
          target: RED.nodes.node(trackId),
        });
        RED.nodes.addLink({
          source: RED.nodes.node(trackId),
          sourcePort: 0,
          target: RED.nodes.node(notifyId),
        });
        RED.nodes.dirty(true);
        RED.view.redraw(true);
      },
      { triggerId, trackId, notifyId },
    );
    await ed.deploy();
    const run = (
      await ed.rt.api("POST", `/pw/trigger/${triggerId}`, [
        { order_number: "1001", customer: { email: "ada@example.com" } },
      ])
    ).json.run;
    const mail = await waitUntil(() => smtp.delivered[0], "the email");
    assert.deepEqual(mail.to.sort(), ["lead@example.com", "ops@example.com"]);
    assert.equal(mail.header("Subject"), "New order");
    assert.match(mail.body, /^Order 1001 arrived/);

    await page.evaluate(() => RED.sidebar.show("pw-runs"));
    await page.selectOption("#pw-runs-search-in", "tracked");
    await page.fill("#pw-runs-search", "ADA@example.com");
    await page.waitForSelector(`.pw-runs-item[data-run='${run.id}']`);
    assert.equal(await page.locator(".pw-runs-item").count(), 1);
    await page.fill("#pw-runs-search", "1002");
    await page.waitForSelector(".pw-runs-empty:has-text('No runs match')");
    await page.fill("#pw-runs-search", "1001");
    await page.click(`.pw-runs-item[data-run='${run.id}']`);
    await page.waitForSelector(".pw-runs-tracked");
    assert.deepEqual(await page.locator(".pw-runs-tracked tr").allTextContents(), [
      "order1001",
      "emailada@example.com",
    ]);
    const note = page.locator(".pw-runs-notification");
    assert.match(await note.textContent(), /Order alerts: New order/);
    assert.match(
      await note.locator(".pw-runs-channels").textContent(),
      /email: sent to 2 recipient\(s\) through Office mail/,
    );
    assert.equal(await note.getAttribute("data-level"), "warning");
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
