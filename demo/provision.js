// What the demo adds to the editor's flows: one instance per stand-in, with its credentials
// (sent once, through the admin API, so Node-RED encrypts them as it does a user's), and a tab
// saying what to do. Fixed ids: a restart updates the same nodes instead of adding more, and a
// blueprint installed on them keeps working.

const TAB = "de30000000000000";
const COMMENT = "de30000000000001";
const idOf = (i) => `de300000000001${String(i).padStart(2, "0")}`;

function demoNodes(systems) {
  const instances = systems.map((s, i) => {
    const secretKeys = Object.keys(s.settings.secrets ?? {});
    return {
      id: idOf(i),
      type: "pw-instance",
      name: `Demo ${s.name}`,
      connector: s.connector,
      vars: s.settings.vars,
      secretSlots: Object.fromEntries(secretKeys.map((k, n) => [k, n])),
      auth: s.settings.auth ?? 0,
      rateLimit: [],
      timeoutSec: 30,
      attempts: 3,
      tlsCa: "",
      tlsInsecure: false,
      credentials: Object.fromEntries(secretKeys.map((k, n) => [`secret_${n}`, s.settings.secrets[k]])),
    };
  });
  const pages = systems.map((s) => `- ${s.name}: ${s.page}`).join("\n");
  return [
    {
      id: TAB,
      type: "tab",
      label: "Demo: start here",
      disabled: false,
      info: "The demo's stand-ins and how to try a blueprint on them.",
    },
    {
      id: COMMENT,
      type: "comment",
      z: TAB,
      name: "Demo: install a blueprint from the Marketplace tab, enable it, deploy, press its trigger",
      info: [
        "This Node-RED runs beside local stand-ins of the systems the blueprints connect (no account needed).",
        'The config nodes "Demo TikTok Shop", "Demo Shopify" … are instances already pointing at them, with demo credentials.',
        "",
        "1. Open the Marketplace tab in the right sidebar and install *TikTok Shop orders into Shopify*; keep the demo instances it offers.",
        "2. The blueprint's tab is imported disabled: enable it (double-click the tab), then Deploy.",
        "3. Press the button on its trigger, and watch the run in the Runs tab.",
        "4. See what arrived on the stand-ins' pages:",
        pages,
      ].join("\n"),
      x: 400,
      y: 80,
      wires: [],
    },
    ...instances,
  ];
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The flows with the demo's nodes added, and the demo instances' variables set to this start's
 * stand-ins (a user's other edits kept); null when nothing changes.
 */
function mergeDemoNodes(flows, nodes) {
  const byId = new Map(flows.map((n) => [n.id, n]));
  let changed = false;
  const out = flows.map((n) => ({ ...n }));
  for (const node of nodes) {
    const have = byId.get(node.id);
    if (!have) {
      out.push(node);
      changed = true;
      continue;
    }
    if (node.type !== "pw-instance") continue;
    const vars = { ...have.vars, ...node.vars };
    if (!same(vars, have.vars)) {
      out[out.findIndex((n) => n.id === node.id)].vars = vars;
      changed = true;
    }
  }
  return changed ? out : null;
}

module.exports = { demoNodes, mergeDemoNodes };
