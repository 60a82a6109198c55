// The flow the crash tests and the crash soak kill a runtime under: a webhook trigger whose
// runs write their id down at once (the child runtime's `sink`, so a kill right after leaves it
// on record) and then wait a little in a delay node, so that a kill finds runs in flight.
function crashFlow(delayMs) {
  return [
    { id: "c", type: "tab", label: "Crash" },
    {
      id: "hook",
      type: "pw-trigger",
      z: "c",
      name: "orders in",
      schedules: [],
      webhook: true,
      path: "/burst",
      methods: "POST",
      replyBody: '{"run":"{{run.id}}"}',
      x: 100,
      y: 100,
      wires: [["mark"]],
    },
    {
      id: "mark",
      type: "function",
      z: "c",
      func: "global.get('sink')(msg.pw.run.id); return msg;",
      outputs: 1,
      x: 300,
      y: 100,
      wires: [["wait"]],
    },
    {
      id: "wait",
      type: "delay",
      z: "c",
      pauseType: "delay",
      timeout: String(delayMs),
      timeoutUnits: "milliseconds",
      rate: "1",
      nbRateUnits: "1",
      rateUnits: "second",
      randomFirst: "1",
      randomLast: "5",
      randomUnits: "seconds",
      drop: false,
      x: 500,
      y: 100,
      wires: [[]],
    },
  ];
}

module.exports = { crashFlow };
