// The blueprint manifests in nodes/marketplace/ (the folder as it is: every manifest added there
// is checked) hold together: each is well formed, its flow file exists, its connectors are
// prebuilt ones, and every instance in its flow uses one of them. And the checks catch what
// they are for.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { lib, root } = require("../support/dist");
const { loadBlueprints, manifestShapeProblems, manifestProblems, readBlueprintFlow } =
  lib("marketplace/manifest");
const { loadPrebuilt } = lib("connectors/definition");
const { describeConnector } = lib("marketplace/catalogue");

const dir = path.join(root, "nodes", "marketplace");
const blueprintsDir = path.join(root, "blueprints");
const prebuilt = new Set(loadPrebuilt().map((c) => c.id));
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "schema.json");

describe("marketplace manifests", function () {
  it("finds every manifest in the folder", function () {
    const loaded = loadBlueprints(dir, blueprintsDir, prebuilt);
    assert.ok(files.length >= 1);
    assert.deepEqual(
      loaded.map((b) => b.file),
      [...files].sort(),
    );
  });

  for (const file of files) {
    describe(file, function () {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
      it("is well formed and named after its id", function () {
        assert.deepEqual(manifestShapeProblems(manifest), []);
        assert.equal(`${manifest.id}.json`, file);
      });
      it("names a flow file that exists, and prebuilt connectors", function () {
        assert.ok(fs.existsSync(path.join(blueprintsDir, manifest.flow)), `${manifest.flow} exists`);
        for (const c of manifest.connectors) assert.ok(prebuilt.has(c), `${c} is a prebuilt connector`);
      });
      it("every instance in its flow uses one of its connectors, and its tabs are its flows", function () {
        const flow = readBlueprintFlow(blueprintsDir, manifest.flow);
        for (const n of flow.filter((n) => n.type === "pw-instance"))
          assert.ok(manifest.connectors.includes(n.connector), `${n.name} (${n.connector}) is listed`);
        assert.deepEqual(manifestProblems(manifest, prebuilt, flow), []);
      });
      it("has a doc page when it names one", function () {
        if (manifest.doc) assert.ok(fs.existsSync(path.join(root, manifest.doc)), `${manifest.doc} exists`);
      });
    });
  }

  describe("the checks", function () {
    const good = JSON.parse(fs.readFileSync(path.join(dir, "shopify-customers-to-hubspot.json"), "utf8"));
    const flow = readBlueprintFlow(blueprintsDir, good.flow);

    it("name the field of a malformed manifest", function () {
      assert.deepEqual(manifestShapeProblems({ ...good, connectors: [], extra: 1 }), [
        '(manifest): must NOT have additional properties "extra"',
        "connectors: must NOT have fewer than 1 items",
      ]);
      assert.deepEqual(manifestShapeProblems({ ...good, calls: [{ connector: "shopify" }] }), [
        "calls.0: must have required property 'perRun'",
        "calls.0: must have required property 'perRecord'",
      ]);
    });

    it("find a connector that is not prebuilt, an instance of an unlisted connector, an unlisted tab", function () {
      const stray = flow.map((n) =>
        n.type === "tab"
          ? { ...n, label: "Other" }
          : n.connector === "hubspot"
            ? { ...n, connector: "klaviyo" }
            : n,
      );
      assert.deepEqual(
        manifestProblems({ ...good, connectors: ["shopify", "hubspot", "nope"] }, prebuilt, stray),
        [
          'connectors: "nope" is not a prebuilt connector',
          'flow: the instance "HubSpot portal" uses the connector "klaviyo", which the manifest\'s connectors do not list',
          'connectors: "hubspot" has no instance in the flow',
          'connectors: "nope" has no instance in the flow',
          "flows: the flow's tab \"Other\" is not listed in the manifest's flows",
        ],
      );
    });

    it("find a missing flow file and refuse a path outside the blueprints folder", function () {
      assert.throws(
        () => readBlueprintFlow(blueprintsDir, "Blueprints/Nope.json"),
        /"Blueprints\/Nope.json" does not exist/,
      );
      assert.throws(
        () => readBlueprintFlow(blueprintsDir, "../package.json"),
        /outside the blueprints folder/,
      );
      const tmp = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "pw-mkt-"));
      fs.writeFileSync(
        path.join(tmp, "broken.json"),
        JSON.stringify({ ...good, id: "broken", flow: "Nope.json" }),
      );
      fs.writeFileSync(path.join(tmp, "bad.json"), "{ not json");
      const loaded = loadBlueprints(tmp, blueprintsDir, prebuilt);
      assert.deepEqual(
        loaded.map((b) => [b.manifest.id, b.problems.length > 0]),
        [
          ["bad", true],
          ["broken", true],
        ],
      );
      assert.match(loaded[1].problems[0], /flow: the flow file "Nope.json" does not exist/);
    });
  });

  it("lists a connector's endpoints and splits its credentials into variables and secret slots", function () {
    const shopify = describeConnector(loadPrebuilt().find((c) => c.id === "shopify"));
    assert.deepEqual(
      shopify.secrets.map((s) => s.key),
      ["token"],
    );
    assert.ok(shopify.variables.some((v) => v.key === "shop" && v.required));
    assert.ok(shopify.variables.some((v) => v.key === "apiVersion" && /quarterly/.test(v.help)));
    assert.ok(shopify.endpoints.some((e) => e.id === "list-customers" && e.direction === "receive"));
    assert.ok(shopify.endpoints.some((e) => e.direction === "send"));
  });
});
