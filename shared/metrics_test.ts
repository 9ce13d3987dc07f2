import assert from "node:assert/strict";
import { MetricsRegistry } from "./metrics.ts";

Deno.test("counters render one line per label set with escaped values", () => {
  const registry = new MetricsRegistry();
  const sent = registry.counter("events_sent_total", "Events sent.");
  sent.inc({ type: "click" });
  sent.inc({ type: "click" }, 2);
  sent.inc({ type: 'we"ird' });
  assert.equal(sent.get({ type: "click" }), 3);
  assert.equal(
    registry.render(),
    "# HELP events_sent_total Events sent.\n# TYPE events_sent_total counter\n" +
      'events_sent_total{type="click"} 3\nevents_sent_total{type="we\\"ird"} 1\n',
  );
});

Deno.test("histograms count each observation into every bucket at or above it", () => {
  const registry = new MetricsRegistry();
  const latency = registry.histogram("latency_seconds", "Latency.", [0.1, 1]);
  latency.observe(0.05);
  latency.observe(0.5);
  latency.observe(5);
  const text = registry.render();
  assert.match(text, /latency_seconds_bucket\{le="0.1"\} 1\n/);
  assert.match(text, /latency_seconds_bucket\{le="1"\} 2\n/);
  assert.match(text, /latency_seconds_bucket\{le="\+Inf"\} 3\n/);
  assert.match(text, /latency_seconds_sum 5.55\n/);
  assert.equal(latency.count(), 3);
});

Deno.test("a gauge keeps the last value set", () => {
  const registry = new MetricsRegistry();
  const lag = registry.gauge("lag", "Lag.");
  lag.set({ partition: "0" }, 5);
  lag.set({ partition: "0" }, 2);
  assert.equal(lag.get({ partition: "0" }), 2);
});

Deno.test("observing many equal values at once counts each of them", () => {
  const registry = new MetricsRegistry();
  const latency = registry.histogram("lat", "Latency.", [1, 2]);
  latency.observeMany(1.5, 4, { stage: "commit" });
  latency.observe(0.5, { stage: "commit" });
  assert.equal(latency.count({ stage: "commit" }), 5);
  const text = registry.render();
  assert.match(text, /lat_bucket\{stage="commit",le="1"\} 1\n/);
  assert.match(text, /lat_bucket\{stage="commit",le="2"\} 5\n/);
  assert.match(text, /lat_sum\{stage="commit"\} 6.5\n/);
});
