import assert from "node:assert/strict";
import {
  createKafkaWatch,
  judgeKafkaWatch,
  kafkaWatchSettings,
  noteKafkaSign,
  silenceReason,
} from "./kafka_watch.ts";

const SETTINGS = { silentAfterMs: 60_000, stalledAfterMs: 180_000 };

Deno.test("the silences tolerated grow with the session timeout and never fall under a minute", () => {
  assert.deepEqual(kafkaWatchSettings(6_000), { silentAfterMs: 60_000, stalledAfterMs: 180_000 });
  assert.deepEqual(kafkaWatchSettings(30_000), { silentAfterMs: 60_000, stalledAfterMs: 180_000 });
  assert.deepEqual(kafkaWatchSettings(45_000), { silentAfterMs: 90_000, stalledAfterMs: 270_000 });
});

Deno.test("a client that keeps showing signs of life is alive however long it runs", () => {
  const watch = createKafkaWatch(SETTINGS, 0);
  for (let now = 0; now <= 3_600_000; now += 59_000) {
    assert.deepEqual(judgeKafkaWatch(watch, { nowMs: now, stopping: false }), { kind: "alive" });
    noteKafkaSign(watch, now);
  }
});

Deno.test("a long silence is told once, then stops the consumer when longer still", () => {
  const watch = createKafkaWatch(SETTINGS, 1_000);
  assert.deepEqual(judgeKafkaWatch(watch, { nowMs: 60_999, stopping: false }), { kind: "alive" });
  assert.deepEqual(judgeKafkaWatch(watch, { nowMs: 61_000, stopping: false }), {
    kind: "silent",
    silentMs: 60_000,
    tell: true,
  });
  assert.deepEqual(judgeKafkaWatch(watch, { nowMs: 120_000, stopping: false }), {
    kind: "silent",
    silentMs: 119_000,
    tell: false,
  });
  assert.deepEqual(judgeKafkaWatch(watch, { nowMs: 181_000, stopping: false }), {
    kind: "stalled",
    silentMs: 180_000,
  });
});

Deno.test("a sign of life ends a silence, says how long the told silence was, and restarts the count", () => {
  const watch = createKafkaWatch(SETTINGS, 0);
  assert.equal(noteKafkaSign(watch, 30_000), 0, "a silence never told is not reported");
  judgeKafkaWatch(watch, { nowMs: 100_000, stopping: false });
  assert.equal(noteKafkaSign(watch, 110_000), 80_000);
  assert.deepEqual(judgeKafkaWatch(watch, { nowMs: 169_999, stopping: false }), { kind: "alive" });
  const again = judgeKafkaWatch(watch, { nowMs: 170_000, stopping: false });
  assert.equal(again.kind === "silent" && again.tell, true, "a new silence is told again");
});

Deno.test("a stopping consumer is never judged stalled: its stop has its own budget", () => {
  const watch = createKafkaWatch(SETTINGS, 0);
  assert.deepEqual(judgeKafkaWatch(watch, { nowMs: 1_000_000, stopping: true }), { kind: "alive" });
});

Deno.test("the reason names the silence in whole seconds", () => {
  assert.equal(
    silenceReason(61_400),
    "the Kafka client has shown no sign of life (no fetch, heartbeat or batch) for 61 s",
  );
});
