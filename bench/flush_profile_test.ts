import assert from "node:assert/strict";
import { MetricsRegistry } from "@activity/shared";
import { flushProfile, flushProfileFigures } from "./flush_profile.ts";

function consumerMetrics(): string {
  const registry = new MetricsRegistry();
  const flushes = registry.counter("activity_consumer_flushes_total", "Flushes.");
  flushes.inc({ outcome: "committed" }, 4);
  flushes.inc({ outcome: "fenced" }, 1);
  registry.counter("activity_consumer_events_accepted_total", "Accepted.").inc({}, 40_000);
  const rows = registry.counter("activity_consumer_rows_written_total", "Rows.");
  rows.inc({ table: "user_event_summary" }, 20_000);
  rows.inc({ table: "user_event_hourly" }, 8_000);
  rows.inc({ table: "event_type_minute" }, 12);
  const seconds = registry.histogram(
    "activity_consumer_flush_duration_seconds",
    "Flush time.",
    [0.1, 0.25, 0.5, 1],
  );
  seconds.observeMany(0.2, 3);
  seconds.observe(0.8);
  return registry.render();
}

Deno.test("a flush profile divides events, rows per table and time by the committed flushes", () => {
  const profile = flushProfile(consumerMetrics(), { drainSeconds: 7 });
  assert.equal(profile.flushes, 4);
  assert.equal(profile.eventsPerFlush, 10_000);
  assert.deepEqual(profile.rowsPerFlush, {
    event_type_minute: 3,
    user_event_hourly: 2_000,
    user_event_summary: 5_000,
  });
  assert.equal(profile.rowsPerEvent, 28_012 / 40_000);
  assert.ok(Math.abs(profile.meanMs - 350) < 1e-9);
  assert.ok(profile.p50Ms > 100 && profile.p50Ms <= 250);
  assert.ok(profile.p95Ms > 500 && profile.p95Ms <= 1000);
  assert.ok(Math.abs(profile.commitShare - 20) < 1e-9);
});

Deno.test("a profile without flushes says not-a-number instead of dividing by zero", () => {
  const profile = flushProfile("", { drainSeconds: 0 });
  assert.equal(profile.flushes, 0);
  assert.ok(Number.isNaN(profile.eventsPerFlush));
  assert.ok(Number.isNaN(profile.meanMs));
  assert.ok(Number.isNaN(profile.commitShare));
  assert.deepEqual(profile.rowsPerFlush, {});
});

Deno.test("the profile's rows name their phase and one row per table", () => {
  const figures = flushProfileFigures(
    "backlog",
    flushProfile(consumerMetrics(), { drainSeconds: 7 }),
  );
  assert.ok(figures.every((figure) => figure.phase === "backlog"));
  assert.equal(figures.filter((figure) => figure.name.startsWith("rows per flush: ")).length, 3);
});
