const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { toCron, compileSchedule, Scheduler, formatFireTime, checkTimeZone } = lib("schedule");

const { fakeClock } = require("../support/fake-clock");

const at = (iso) => Date.parse(iso);

describe("schedules", function () {
  it("turns presets into cron expressions", function () {
    assert.equal(toCron({ type: "minutes", every: 15 }), "*/15 * * * *");
    assert.equal(toCron({ type: "minutes", every: 1 }), "* * * * *");
    assert.equal(toCron({ type: "hourly", minute: 5 }), "5 * * * *");
    assert.equal(toCron({ type: "hourly", minute: 30, every: 6 }), "30 */6 * * *");
    assert.equal(toCron({ type: "daily", time: "09:30", days: [5, 1, 1] }), "30 9 * * 1,5");
    assert.equal(toCron({ type: "daily", time: "7:00" }), "0 7 * * *");
    assert.equal(
      toCron({ type: "monthly", time: "02:15", days: [1, "L"], months: [1, 7] }),
      "15 2 1,L 1,7 *",
    );
    assert.equal(toCron({ type: "cron", cron: "  0  */2 * * 1-5 " }), "0 */2 * * 1-5");
    assert.equal(toCron({ type: "cron", cron: "*/5 * * * * *" }), "*/5 * * * * *");
  });

  it("refuses bad schedules with a message that says how to fix them", function () {
    assert.throws(
      () => toCron({ type: "minutes", every: 0 }),
      /every N minutes must be a whole number from 1 to 59/,
    );
    assert.throws(() => toCron({ type: "daily", time: "25:00" }), /hour must be a whole number from 0 to 23/);
    assert.throws(() => toCron({ type: "daily", time: "nine" }), /must be HH:MM/);
    assert.throws(() => toCron({ type: "monthly", time: "01:00", days: [] }), /at least one day/);
    assert.throws(() => toCron({ type: "cron", cron: "* * * *" }), /has 4 fields; use 5/);
    assert.throws(() => toCron({ type: "cron", cron: "0 0 0 * * * 2030" }), /has 7 fields/);
    assert.throws(
      () => compileSchedule({ type: "cron", cron: "61 * * * *" }),
      /cron "61 \* \* \* \*" is not valid/,
    );
    assert.throws(
      () => compileSchedule({ type: "hourly", minute: 0, tz: "Mars/Olympus" }),
      /unknown time zone "Mars\/Olympus"/,
    );
    assert.equal(checkTimeZone("Europe/London"), "Europe/London");
  });

  it("computes fire times in the schedule's time zone, across daylight saving", function () {
    const daily = compileSchedule({ type: "daily", time: "09:00", tz: "Europe/London" });
    // 09:00 London is 08:00 UTC in summer and 09:00 UTC in winter.
    assert.equal(
      new Date(daily.nextAfter(at("2026-07-01T00:00:00Z"))).toISOString(),
      "2026-07-01T08:00:00.000Z",
    );
    assert.equal(
      new Date(daily.nextAfter(at("2026-12-01T00:00:00Z"))).toISOString(),
      "2026-12-01T09:00:00.000Z",
    );
    const weekdays = compileSchedule({ type: "daily", time: "09:00", days: [1, 2, 3, 4, 5], tz: "UTC" });
    // 2026-11-28 is a Saturday: the next weekday run is Monday the 30th.
    assert.equal(
      new Date(weekdays.nextAfter(at("2026-11-28T10:00:00Z"))).toISOString(),
      "2026-11-30T09:00:00.000Z",
    );
    const lastDay = compileSchedule({ type: "monthly", time: "23:00", days: ["L"], tz: "America/New_York" });
    assert.equal(
      new Date(lastDay.nextAfter(at("2026-02-10T00:00:00Z"))).toISOString(),
      "2026-03-01T04:00:00.000Z",
    );
  });

  it("fires each schedule at its times with an injected clock, one timer at a time", function () {
    const clock = fakeClock(at("2026-11-27T08:59:00Z"));
    const fired = [];
    const scheduler = new Scheduler(
      [compileSchedule({ type: "minutes", every: 30 }), compileSchedule({ type: "hourly", minute: 0 })],
      (s, time) => fired.push([s.cron, new Date(time).toISOString()]),
      clock,
    );
    scheduler.start();
    assert.equal(new Date(scheduler.upcoming().at).toISOString(), "2026-11-27T09:00:00.000Z");
    clock.advanceTo(at("2026-11-27T10:00:30Z"));
    assert.deepEqual(fired, [
      ["*/30 * * * *", "2026-11-27T09:00:00.000Z"],
      ["0 * * * *", "2026-11-27T09:00:00.000Z"],
      ["*/30 * * * *", "2026-11-27T09:30:00.000Z"],
      ["*/30 * * * *", "2026-11-27T10:00:00.000Z"],
      ["0 * * * *", "2026-11-27T10:00:00.000Z"],
    ]);
    assert.equal(clock.pending(), 1);
    scheduler.stop();
    assert.equal(clock.pending(), 0);
    clock.advanceTo(at("2026-11-27T12:00:00Z"));
    assert.equal(fired.length, 5);
  });

  it("re-arms waits longer than a timer can hold instead of firing early", function () {
    const clock = fakeClock(at("2026-01-01T00:00:00Z"));
    const fired = [];
    const yearly = compileSchedule({ type: "monthly", time: "00:00", days: [1], months: [12] });
    const scheduler = new Scheduler([yearly], (_s, time) => fired.push(time), clock);
    scheduler.start();
    clock.advanceTo(at("2026-06-01T00:00:00Z"));
    assert.deepEqual(fired, []);
    clock.advanceTo(at("2026-12-01T00:00:01Z"));
    assert.deepEqual(
      fired.map((t) => new Date(t).toISOString()),
      ["2026-12-01T00:00:00.000Z"],
    );
  });

  it("formats fire times as people in the zone read them", function () {
    assert.equal(
      formatFireTime(at("2026-11-27T09:00:00Z"), "Europe/London"),
      "Fri 27 Nov 09:00 Europe/London",
    );
    assert.equal(formatFireTime(at("2026-07-01T08:00:05Z"), "Asia/Tokyo"), "Wed 1 Jul 17:00:05 Asia/Tokyo");
  });
});
