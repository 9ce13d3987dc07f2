import assert from "node:assert/strict";
import { formatGoFloat, formatGrafanaInterval, parseGoDuration } from "./go_format.ts";
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

Deno.test("Go float printing switches to exponent form from 1e6 and below 1e-4", () => {
  assert.equal(formatGoFloat(60), "60");
  assert.equal(formatGoFloat(604_800), "604800");
  assert.equal(formatGoFloat(1_000_000), "1e+06");
  assert.equal(formatGoFloat(31_536_000), "3.1536e+07");
  assert.equal(formatGoFloat(0.0001), "0.0001");
  assert.equal(formatGoFloat(0.00001), "1e-05");
  assert.equal(formatGoFloat(-2.5), "-2.5");
});

Deno.test("Go durations parse like time.ParseDuration and intervals print like FormatInterval", () => {
  assert.equal(parseGoDuration("1h30m"), 5_400_000);
  assert.equal(parseGoDuration(".5s"), 500);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("5"), undefined);
  assert.equal(parseGoDuration("1x"), undefined);
  assert.equal(formatGrafanaInterval(500), "500ms");
  assert.equal(formatGrafanaInterval(0.5), "1ms");
  assert.equal(formatGrafanaInterval(2 * 365 * 86_400_000), "2y");
});
