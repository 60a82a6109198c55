/** A clock the test moves by hand; timers fire in time order as it passes them. */
function fakeClock(start = 0) {
  let now = start;
  let timers = [];
  return {
    now: () => now,
    setTimer(fn, ms) {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimer(t) {
      timers = timers.filter((x) => x !== t);
    },
    advance(ms) {
      this.advanceTo(now + ms);
    },
    advanceTo(time) {
      for (;;) {
        const due = timers.filter((t) => t.at <= time).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = time;
    },
    pending: () => timers.length,
  };
}
module.exports = { fakeClock };
