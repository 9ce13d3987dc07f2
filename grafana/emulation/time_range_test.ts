import assert from "node:assert/strict";
import {
  panelTimeRange,
  queryIntervalMs,
  resolveDateMath,
  roundInterval,
  TimeRangeError,
} from "./time_range.ts";

const now = new Date("2024-05-01T16:20:30.500Z");

Deno.test("relative expressions resolve against now in UTC", () => {
  assert.equal(resolveDateMath("now", now).toISOString(), "2024-05-01T16:20:30.500Z");
  assert.equal(resolveDateMath("now-6h", now).toISOString(), "2024-05-01T10:20:30.500Z");
  assert.equal(resolveDateMath("now/d", now).toISOString(), "2024-05-01T00:00:00.000Z");
  assert.equal(resolveDateMath("now/d", now, true).toISOString(), "2024-05-01T23:59:59.999Z");
  assert.equal(resolveDateMath("now-1d/d", now).toISOString(), "2024-04-30T00:00:00.000Z");
  assert.throws(() => resolveDateMath("now/w", now), TimeRangeError);
  assert.throws(() => resolveDateMath("now-1M", now), TimeRangeError);
});

Deno.test("a panel override of 1h or now/d ends at now, otherwise the dashboard range applies", () => {
  const dashboard = { from: "now-6h", to: "now" };
  assert.deepEqual(panelTimeRange(dashboard, "1h", now), {
    from: new Date("2024-05-01T15:20:30.500Z"),
    to: now,
  });
  assert.deepEqual(panelTimeRange(dashboard, "now/d", now), {
    from: new Date("2024-05-01T00:00:00.000Z"),
    to: now,
  });
  assert.deepEqual(panelTimeRange(dashboard, undefined, now), {
    from: new Date("2024-05-01T10:20:30.500Z"),
    to: now,
  });
});

Deno.test("the query interval is the rounded range per data point, never below the minimum", () => {
  const sixHours = { from: new Date(now.getTime() - 6 * 3_600_000), to: now };
  const thirtyDays = { from: new Date(now.getTime() - 30 * 86_400_000), to: now };
  assert.equal(queryIntervalMs(sixHours), 20_000);
  assert.equal(queryIntervalMs(sixHours, { minInterval: "1m" }), 60_000);
  assert.equal(queryIntervalMs(thirtyDays), 1_800_000);
  assert.equal(queryIntervalMs(thirtyDays, { maxDataPoints: 500 }), 3_600_000);
  assert.equal(roundInterval(5_000_000_000), 31_536_000_000);
});
