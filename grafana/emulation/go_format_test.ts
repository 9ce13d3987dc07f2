import assert from "node:assert/strict";
import { formatGoFloat, formatGrafanaInterval, parseGoDuration } from "./go_format.ts";

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
