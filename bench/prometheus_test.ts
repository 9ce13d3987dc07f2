import assert from "node:assert/strict";
import { MetricsRegistry } from "@activity/shared";
import {
  histogramDelta,
  histogramQuantile,
  readHistogram,
  readValue,
  readValuesByLabel,
} from "./prometheus.ts";

Deno.test("a histogram read back from Prometheus text gives interpolated quantiles", () => {
  const registry = new MetricsRegistry();
  const latency = registry.histogram("lat_seconds", "Latency.", [0.5, 1, 2]);
  latency.observeMany(0.25, 50);
  latency.observeMany(0.75, 40);
  latency.observeMany(1.5, 10);
  const snapshot = readHistogram(registry.render(), "lat_seconds");
  assert.equal(snapshot.count, 100);
  assert.equal(histogramQuantile(snapshot, 0.5), 0.5);
  assert.equal(histogramQuantile(snapshot, 0.7), 0.75);
  assert.equal(histogramQuantile(snapshot, 0.95), 1.5);
  assert.ok(Number.isNaN(histogramQuantile(readHistogram("", "lat_seconds"), 0.5)));
});

Deno.test("the delta of two snapshots holds only the observations in between", () => {
  const registry = new MetricsRegistry();
  const latency = registry.histogram("lat_seconds", "Latency.", [1, 10]);
  latency.observeMany(5, 10);
  const before = readHistogram(registry.render(), "lat_seconds");
  latency.observeMany(0.5, 3);
  const delta = histogramDelta(before, readHistogram(registry.render(), "lat_seconds"));
  assert.equal(delta.count, 3);
  assert.equal(histogramQuantile(delta, 0.99), 0.99 * 3 / 3);
});

Deno.test("counter values are summed over matching label sets", () => {
  const registry = new MetricsRegistry();
  const rows = registry.counter("rows_total", "Rows.");
  rows.inc({ table: "a" }, 3);
  rows.inc({ table: "b" }, 4);
  const text = registry.render();
  assert.equal(readValue(text, "rows_total"), 7);
  assert.equal(readValue(text, "rows_total", { table: "b" }), 4);
  assert.equal(readValue(text, "rows"), 0);
});

Deno.test("counter values are split by one label and summed over the others", () => {
  const registry = new MetricsRegistry();
  const rows = registry.counter("rows_total", "Rows.");
  rows.inc({ table: "a", kind: "x" }, 3);
  rows.inc({ kind: "y", table: "a" }, 2);
  rows.inc({ table: "b" }, 4);
  registry.counter("rows_total_other", "Other.").inc({ table: "a" }, 100);
  const byTable = readValuesByLabel(registry.render(), "rows_total", "table");
  assert.deepEqual([...byTable].sort(), [["a", 5], ["b", 4]]);
  assert.equal(readValuesByLabel(registry.render(), "rows_total", "missing").size, 0);
});
