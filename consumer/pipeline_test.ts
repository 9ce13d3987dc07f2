import assert from "node:assert/strict";
import { createLogger, encode, MetricsRegistry } from "@activity/shared";
import { readConfig } from "@activity/shared";
import { consumerProgram } from "./config.ts";
import type { FlushPlan } from "./flush_plan.ts";
import type { IncomingBatch, KafkaSource } from "./kafka_source.ts";
import { registerConsumerMetrics } from "./metrics.ts";
import { createPipeline } from "./pipeline.ts";
import type { CommitOutcome, FlushTimings, RowsWritten, Store } from "./store.ts";

// In-memory stand-ins for the two edges: the pipeline's own logic is what is under test here;
// the real broker and database are in e2e/consumer_*_test.ts.

function config(flags: Record<string, number>) {
  const args = Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
  const outcome = readConfig(consumerProgram, { args: [...args, "--topic", "t"], env: {} });
  if (outcome.kind !== "config") throw new Error("bad config");
  return outcome.config;
}

function fakeStore(stored: Map<number, bigint>) {
  const plans: FlushPlan[] = [];
  let gate: Promise<void> = Promise.resolve();
  let outcome: CommitOutcome["kind"] = "committed";
  const store: Store = {
    sql: undefined as never,
    readStoredOffsets: () => Promise.resolve(new Map(stored)),
    async commitFlush(plan) {
      await gate;
      plans.push(plan);
      if (outcome === "fenced") return { kind: "fenced", partitions: [plan.ranges[0].partition] };
      for (const range of plan.ranges) stored.set(range.partition, BigInt(range.next));
      const rows = {
        user_event_summary: 0,
        user_event_hourly: 0,
        user_event_daily: 0,
        event_type_minute: 0,
        active_users_minute: 0,
        rejected_events: 0,
      } as RowsWritten;
      return { kind: "committed", rows, timings: { statement: 0 } as FlushTimings };
    },
    ping: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
  return {
    store,
    plans,
    hold() {
      const { promise, resolve } = Promise.withResolvers<void>();
      gate = promise;
      return resolve;
    },
    refuseNext() {
      outcome = "fenced";
    },
  };
}

function fakeSource() {
  const seeks: [number, string][] = [];
  const source: KafkaSource = {
    seek: (partition, offset) => seeks.push([partition, offset]),
    publishDeadLetters: () => Promise.resolve(),
    commitGroupOffsets: () => {},
    pause: () => {},
    close: () => Promise.resolve(),
  };
  return { source, seeks };
}

function batch(
  partition: number,
  from: number,
  count: number,
): IncomingBatch & { resolved: string[] } {
  const resolved: string[] = [];
  const messages = Array.from({ length: count }, (_, i) => ({
    offset: String(from + i),
    timestamp: String(Date.now()),
    key: null,
    value: encode({
      version: 1,
      event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
      user_id: `u${i % 3}`,
      session_id: "s",
      event_type: "click",
      occurred_at: new Date().toISOString(),
      page: "/",
    }),
  }));
  return {
    topic: "t",
    partition,
    messages,
    highWatermark: String(from + count),
    heartbeat: () => Promise.resolve(),
    isRunning: () => true,
    isStale: () => false,
    resolveOffset: (offset) => resolved.push(offset),
    resolved,
  };
}

const quiet = createLogger({ level: "error", format: "json", name: "test", write: () => {} });

function setup(flags: Record<string, number>, stored = new Map<number, bigint>()) {
  const fake = fakeStore(stored);
  const metrics = registerConsumerMetrics(new MetricsRegistry());
  const pipeline = createPipeline(config(flags), { store: fake.store, metrics, log: quiet });
  const kafka = fakeSource();
  const running = pipeline.run(kafka.source);
  pipeline.handlers.onAssignment([0, 1]);
  return { ...fake, ...kafka, pipeline, running, metrics };
}

Deno.test("fetching waits while the buffer is full and goes on once a flush made room", async () => {
  const t = setup({ "flush-events": 5, "max-buffer-events": 10, "flush-interval-ms": 10 });
  const release = t.hold();
  await t.pipeline.handlers.onBatch(batch(0, 0, 10));
  await new Promise((resolve) => setTimeout(resolve, 30));
  await t.pipeline.handlers.onBatch(batch(0, 10, 10));
  let third = false;
  const waiting = t.pipeline.handlers.onBatch(batch(0, 20, 10)).then(() => third = true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(third, false, "the third batch waits while 10 events are buffered");
  release();
  await waiting;
  t.pipeline.stop();
  const summary = await t.running;
  assert.equal(summary.committedEvents, 30);
  assert.deepEqual(t.plans.map((plan) => plan.ranges.map((r) => [r.expected, r.next])), [
    [[null, "10"]],
    [["10", "20"]],
    [["20", "30"]],
  ]);
});

Deno.test("a batch is read from the stored offset: earlier messages are skipped, a later start seeks", async () => {
  const t = setup({ "flush-events": 1_000 }, new Map([[0, 5n], [1, 40n]]));
  const overlapping = batch(0, 0, 8);
  await t.pipeline.handlers.onBatch(overlapping);
  assert.deepEqual(overlapping.resolved, ["7"]);
  await t.pipeline.handlers.onBatch(batch(1, 60, 5));
  assert.deepEqual(t.seeks, [[1, "40"]]);
  t.pipeline.stop();
  const summary = await t.running;
  assert.equal(summary.committedEvents, 3, "offsets 5, 6 and 7 of partition 0");
  assert.deepEqual(t.plans[0].ranges, [
    { partition: 0, expected: "5", next: "8", highWatermark: "8" },
  ]);
});

Deno.test("a refused flush discards what was read and the next batch goes back to the stored offset", async () => {
  const stored = new Map([[0, 0n]]);
  const t = setup({ "flush-events": 4, "flush-interval-ms": 10 }, stored);
  t.refuseNext();
  await t.pipeline.handlers.onBatch(batch(0, 0, 4));
  while (t.plans.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
  stored.set(0, 100n); // what the member that fenced us committed
  await t.pipeline.handlers.onBatch(batch(0, 4, 4));
  assert.deepEqual(t.seeks, [[0, "100"]]);
  t.pipeline.stop();
  const summary = await t.running;
  assert.equal(summary.fenceMisses, 1);
  assert.equal(summary.committedEvents, 0);
});
