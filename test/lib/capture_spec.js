const assert = require("node:assert/strict");
const { Readable } = require("node:stream");
const { lib } = require("../support/dist");
const { pathPattern, captureRoute, releaseCapture, rawBodyCapture, installCapture } = lib("webhook/capture");

const request = (method, url, body) =>
  Object.assign(Readable.from([Buffer.from(body)]), { method, url, originalUrl: url, headers: {} });
const response = () => ({
  statusCode: 200,
  headers: {},
  body: "",
  setHeader(k, v) {
    this.headers[k] = v;
  },
  end(b) {
    this.body = b;
  },
});
const run = (req, res) =>
  new Promise((resolve) => {
    rawBodyCapture(req, res, resolve);
    res.end = ((end) =>
      function (b) {
        end.call(this, b);
        resolve();
      })(res.end);
  });

describe("webhook body capture", function () {
  afterEach(() => ["/hooks/a", "/shops/:shop/orders"].forEach(releaseCapture));

  it("matches Express paths, one segment per :param, ignoring case and a trailing slash", function () {
    const p = pathPattern("/Shops/:shop/orders");
    assert.ok(p.test("/shops/acme/orders"));
    assert.ok(p.test("/SHOPS/acme/orders/"));
    assert.ok(!p.test("/shops/acme/x/orders"));
    assert.ok(!pathPattern("/a.b").test("/axb"), "dots are literal");
  });

  it("keeps the raw body of requests to captured paths and marks it parsed for body parsers", async function () {
    captureRoute("/shops/:shop/orders", 100);
    const req = request("POST", "/shops/acme/orders?x=1", '{"a":  1}');
    await run(req, response());
    assert.equal(req.pwRawBody.toString(), '{"a":  1}');
    assert.equal(req._body, true);
    const other = request("POST", "/elsewhere", "{}");
    await run(other, response());
    assert.equal(other.pwRawBody, undefined);
  });

  it("answers 413 in JSON for a body over the path's limit", async function () {
    captureRoute("/hooks/a", 4);
    const res = response();
    await run(request("POST", "/hooks/a", "too long"), res);
    assert.equal(res.statusCode, 413);
    assert.match(JSON.parse(res.body).message, /over this webhook's 4-byte limit/);
  });

  it("installs itself first in the outermost app, once", function () {
    const stack = [{ handle: "a" }, { handle: "b" }];
    const root = {
      use(fn) {
        stack.push({ handle: fn });
      },
      _router: { stack },
    };
    const child = { parent: Object.assign(function () {}, root) };
    child.parent.use = root.use;
    child.parent._router = root._router;
    assert.equal(installCapture(child), true);
    assert.equal(installCapture(child), true);
    assert.equal(stack[0].handle, rawBodyCapture);
    assert.equal(stack.filter((l) => l.handle === rawBodyCapture).length, 1);
  });
});
