import assert from "node:assert/strict";
import { settle } from "../testing/virtual_clock.ts";
import { batch, setupPipeline, TOPIC_ID } from "../testing/pipeline_fakes.ts";
import { ConsumerStoppedError } from "./pipeline.ts";

// The shell's own logic on in-memory edges (testing/pipeline_fakes.ts) and a virtual clock.

Deno.test("fetching waits while the buffer is full and goes on once a flush made room", async () => {
  const t = setupPipeline({ "flush-events": 5, "max-buffer-events": 10, "flush-interval-ms": 10 });
  t.next("error");
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 10 }));
  let second = false;
  const waiting = t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 10, count: 10 }))
    .then(() => second = true);
  await settle();
  assert.equal(second, false, "the second batch waits while 10 events are buffered");
  await t.clock.advance(200); // the flush fails once, then commits after its backoff
  await waiting;
  assert.equal(second, true);
  t.pipeline.stop();
  await t.clock.advance(100);
  const summary = await t.running;
  assert.equal(summary.committedEvents, 20);
  assert.deepEqual(t.plans.map((plan) => plan.ranges.map((r) => [r.expected, r.next])), [
    [[null, "10"]],
    [[null, "10"]],
    [["10", "20"]],
  ]);
});

Deno.test("rejected keys and values fill the buffer too: fetching waits for a flush", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 5_000 });
  const big = new Uint8Array(20 * 1024 * 1024).fill(0x7b); // "{{{{…": too large, rejected
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 2, value: big }));
  let third = false;
  const waiting = t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 2, count: 1 }))
    .then(() => third = true);
  await t.clock.advance(1_000);
  assert.equal(third, false, "40 MiB of rejected bytes are held: the next batch waits");
  await t.clock.advance(5_000);
  await waiting;
  assert.equal(t.plans[0].rejections.length, 2);
  t.pipeline.stop();
  await t.clock.advance(10);
  assert.equal((await t.running).committedEvents, 3);
});

Deno.test("a batch is read from the stored offset: earlier messages are skipped, a later start seeks", async () => {
  const t = setupPipeline({ "flush-events": 1_000 }, {
    stored: new Map([[0, { next: 5n, topicId: TOPIC_ID }], [1, { next: 40n, topicId: TOPIC_ID }]]),
  });
  const overlapping = batch(t.clock, 0, { from: 0, count: 8 });
  await t.pipeline.handlers.onBatch(overlapping);
  assert.deepEqual(overlapping.resolved, ["7"]);
  await t.pipeline.handlers.onBatch(batch(t.clock, 1, { from: 60, count: 5 }));
  // Placed at assignment (both partitions sought to their stored offsets), then partition 1's
  // batch starts elsewhere: sought again.
  assert.deepEqual(t.seeks, [[0, "5"], [1, "40"], [1, "40"]]);
  t.pipeline.stop();
  await t.clock.advance(10);
  const summary = await t.running;
  assert.equal(summary.committedEvents, 3, "offsets 5, 6 and 7 of partition 0");
  assert.deepEqual(t.plans[0].ranges, [
    { partition: 0, expected: "5", next: "8", highWatermark: "1000", gaps: [] },
  ]);
});

/**
 * Two partitions stored at offset 0, four events of each buffered (a flush is due at eight), and
 * the next flush refused by the offset fence.
 */
async function fourEventsEachOfTwoPartitionsToBeFenced() {
  const stored = new Map([[0, { next: 0n, topicId: TOPIC_ID }], [1, {
    next: 0n,
    topicId: TOPIC_ID,
  }]]);
  const t = setupPipeline({ "flush-events": 8, "flush-interval-ms": 1_000 }, {
    stored,
    ends: new Map([[0, [0n, 4n]], [1, [0n, 4n]]]),
  });
  t.next("fenced");
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 4 }));
  await t.pipeline.handlers.onBatch(batch(t.clock, 1, { from: 0, count: 4 }));
  return { t, stored };
}

Deno.test("after a refused flush every held partition seeks back to its stored offset at once", async () => {
  const { t, stored } = await fourEventsEachOfTwoPartitionsToBeFenced();
  // What the member that fenced us committed meanwhile:
  stored.set(0, { next: 2n, topicId: TOPIC_ID });
  const before = t.seeks.length;
  await t.clock.advance(10);
  // Partition 1 gets no new message, yet it is sought back at once, not on its next batch.
  assert.deepEqual(t.seeks.slice(before).sort(), [[0, "2"], [1, "0"]]);
  assert.equal(t.metrics.discarded.get(), 8);
  assert.equal(t.metrics.lag.get({ partition: "0" }), 2, "lag from the stored offsets");
  t.pipeline.stop();
  await t.clock.advance(10);
  const summary = await t.running;
  assert.deepEqual(
    {
      fenceMisses: summary.fenceMisses,
      committed: summary.committedEvents,
      abandoned: summary.abandonedEvents,
    },
    { fenceMisses: 1, committed: 0, abandoned: 0 },
  );
});

Deno.test("a placement that is slow while a flush is refused still ends with every partition sought back to its stored offset", async () => {
  const { t, stored } = await fourEventsEachOfTwoPartitionsToBeFenced();
  // A partition is added while the brokers are slow to tell its log: its placement waits.
  const release = t.hold();
  t.logs.ends.set(2, [0n, 0n]);
  t.pipeline.handlers.onAssignment([0, 1, 2]);
  stored.set(0, { next: 2n, topicId: TOPIC_ID }); // what the member that fenced us committed
  const before = t.seeks.length;
  await t.clock.advance(10); // the flush is refused while that placement is still in flight
  assert.equal(t.metrics.discarded.get(), 8);
  release();
  await t.clock.advance(10);
  assert.deepEqual(t.seeks.slice(before).sort(), [[0, "2"], [1, "0"], [2, "0"]]);
  t.pipeline.stop();
  await t.clock.advance(10);
  assert.equal((await t.running).fenceMisses, 1);
});

Deno.test("a topic recreated under a placement records what the old topic held past the stored offset as a gap", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 100 }, {
    stored: new Map([[0, { next: 3n, topicId: TOPIC_ID }]]),
    ends: new Map([[0, [0n, 5n]]]),
  });
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 3, count: 2 }));
  // The topic is deleted and created again; placing a newly assigned partition finds out.
  const newTopicId = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
  t.logs.topicId = newTopicId;
  t.logs.ends.set(0, [0n, 0n]).set(1, [0n, 0n]);
  const before = t.seeks.length;
  t.pipeline.handlers.onAssignment([0, 1]);
  await t.clock.advance(200);
  assert.deepEqual(t.seeks.slice(before).sort(), [[0, "0"], [1, "0"]]);
  assert.equal(t.plans[0]?.topicId, newTopicId);
  assert.deepEqual(t.plans[0].ranges, [{
    partition: 0,
    expected: "3",
    next: "0",
    highWatermark: "0",
    gaps: [{ from: "3", to: "5", topicId: TOPIC_ID }],
  }]);
  assert.equal(t.metrics.lostMessages.get({ partition: "0" }), 2);
  t.pipeline.stop();
  await t.clock.advance(10);
  assert.deepEqual(await t.running, {
    committedEvents: 0,
    flushes: 1,
    fenceMisses: 0,
    abandonedEvents: 0,
    discardedEvents: 2,
  });
});

Deno.test("before each flush only the topic's id is read again, not every partition's offsets", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 100 }, {
    stored: new Map([[0, { next: 0n, topicId: TOPIC_ID }]]),
    ends: new Map([[0, [0n, 1_000n]]]),
  });
  await t.clock.advance(1); // placed at assignment: the offsets are read once
  const described = t.calls.describeTopic;
  for (let flush = 0; flush < 3; flush++) {
    await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: flush * 2, count: 2 }));
    await t.clock.advance(200);
  }
  assert.equal(t.plans.length, 3);
  assert.deepEqual(t.calls, { describeTopic: described, topicId: 3 });
  t.pipeline.stop();
  await t.clock.advance(10);
  assert.equal((await t.running).committedEvents, 6);
});

Deno.test("a partition taken away is flushed at once, before the new owner reads it", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 60_000 });
  await t.pipeline.handlers.onBatch(batch(t.clock, 1, { from: 0, count: 3 }));
  await t.clock.advance(1);
  assert.equal(t.plans.length, 0);
  t.pipeline.handlers.onAssignment([0]);
  await t.clock.advance(1);
  assert.deepEqual(t.plans.map((plan) => plan.ranges.map((r) => r.partition)), [[1]]);
  t.pipeline.stop();
  await t.clock.advance(1);
  await t.running;
});

Deno.test("far behind, flushes take five seconds' worth of events instead of half a second's", async () => {
  const t = setupPipeline(
    { "flush-events": 1_000_000, "max-buffer-events": 100, "flush-interval-ms": 500 },
    {
      ends: new Map([[0, [0n, 100_000n]]]),
    },
  );
  const first = batch(t.clock, 0, { from: 0, count: 10 });
  await t.pipeline.handlers.onBatch({ ...first, highWatermark: "100000" });
  await t.clock.advance(600);
  assert.equal(t.plans.length, 0, "100 000 unread: no flush after 0.5 s");
  await t.clock.advance(4_400);
  assert.equal(t.plans.length, 1, "the catch-up interval is 5 s");
  t.pipeline.stop();
  await t.clock.advance(1);
  await t.running;
});

Deno.test("a stop that cannot commit within its deadline abandons the flush and says how much", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 100 });
  t.failAlways();
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 7 }));
  await t.clock.advance(200);
  t.pipeline.stop();
  await t.clock.advance(11_000);
  let done = false;
  t.running.then(() => done = true);
  await settle();
  assert.equal(done, false, "still retrying before the 12 s deadline");
  await t.clock.advance(1_500);
  const summary = await t.running;
  assert.deepEqual([summary.abandonedEvents, summary.committedEvents], [7, 0]);
  assert.deepEqual(t.pipeline.readiness(true), { ready: false, reason: "stopping" });
});

Deno.test("when the Kafka client gives up, the pipeline stops and reports why", async () => {
  const t = setupPipeline({ "flush-events": 1_000 });
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 2 }));
  t.pipeline.handlers.onFatal(new Error("the group coordinator is gone"));
  await t.clock.advance(1);
  const summary = await t.running;
  assert.equal(summary.committedEvents, 2, "what was read is still committed");
  assert.equal(t.pipeline.fatal()?.message, "the group coordinator is gone");
});

Deno.test("a Kafka client that falls silent makes the consumer not ready, then stops it saying why", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "session-timeout-ms": 10_000 });
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 3 }));
  for (let i = 0; i < 11; i++) {
    await t.clock.advance(5_000); // heartbeats every 5 s for 55 s: alive
    t.pipeline.handlers.onActivity();
  }
  assert.deepEqual(t.pipeline.readiness(true), { ready: true });
  await t.clock.advance(65_000);
  assert.deepEqual(t.pipeline.readiness(true), {
    ready: false,
    reason: "the Kafka client has shown no sign of life (no fetch, heartbeat or batch) for 65 s",
  });
  t.pipeline.handlers.onActivity();
  assert.deepEqual(t.pipeline.readiness(true), { ready: true }, "a sign of life ends it");
  let done = false;
  t.running.then(() => done = true);
  await t.clock.advance(175_000);
  assert.equal(done, false, "three minutes of silence are tolerated");
  await t.clock.advance(10_000);
  const summary = await t.running;
  assert.equal(summary.committedEvents, 3, "what was read is still committed");
  assert.match(
    t.pipeline.fatal()?.message ?? "",
    /^Cannot consume: the Kafka client has shown no sign of life .* for 18\d s; stopping so that a restart rejoins the group/,
  );
});

Deno.test("messages removed before they were read are recorded as a gap with the offsets that move past them", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 100 }, {
    stored: new Map([[0, { next: 10n, topicId: TOPIC_ID }]]),
    ends: new Map([[0, [50n, 50n]]]),
  });
  // No message comes: the gap alone moves the stored offset.
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 50, count: 0 }));
  t.pipeline.handlers.onAssignment([0]);
  await t.pipeline.handlers.onBatch({ ...batch(t.clock, 0, { from: 50, count: 1 }) });
  await t.clock.advance(200);
  assert.deepEqual(t.plans[0].ranges, [
    {
      partition: 0,
      expected: "10",
      next: "51",
      highWatermark: "51",
      gaps: [{ from: "10", to: "50" }],
    },
  ]);
  assert.equal(t.metrics.lostMessages.get({ partition: "0" }), 40);
  t.pipeline.stop();
  await t.clock.advance(1);
  await t.running;
});

Deno.test("a recreated topic is read from its start, and a truncated one stops the consumer", async () => {
  const recreated = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 100 }, {
    stored: new Map([[0, { next: 5_000n, topicId: "0b1c2d3e-4f5a-4b7c-8d9e-0f1a2b3c4d5e" }]]),
    ends: new Map([[0, [0n, 3n]]]),
  });
  await recreated.pipeline.handlers.onBatch(batch(recreated.clock, 0, { from: 0, count: 3 }));
  await recreated.clock.advance(200);
  assert.deepEqual(recreated.plans[0].ranges[0], {
    partition: 0,
    expected: "5000",
    next: "3",
    highWatermark: "3",
    gaps: [],
  });
  assert.equal(recreated.plans[0].topicId, TOPIC_ID);
  recreated.pipeline.stop();
  await recreated.clock.advance(1);
  assert.equal((await recreated.running).committedEvents, 3);

  const truncated = setupPipeline({ "flush-events": 1_000 }, {
    stored: new Map([[0, { next: 500n, topicId: TOPIC_ID }]]),
    ends: new Map([[0, [0n, 300n]]]),
  });
  await truncated.pipeline.handlers.onBatch(batch(truncated.clock, 0, { from: 0, count: 3 }));
  await truncated.clock.advance(1);
  await truncated.running;
  const fatal = truncated.pipeline.fatal();
  assert.ok(fatal instanceof ConsumerStoppedError);
  assert.match(fatal.message, /partition 0 of topic "t" ends at offset 300.*up to offset 500/);
  assert.match(fatal.message, /DELETE FROM consumer_offsets/);
});

Deno.test("a flush refused because another group took the topic over stops this consumer", async () => {
  const t = setupPipeline({ "flush-events": 1_000, "flush-interval-ms": 100 });
  t.next("not_owner");
  await t.pipeline.handlers.onBatch(batch(t.clock, 0, { from: 0, count: 2 }));
  await t.clock.advance(200);
  await t.running;
  assert.match(t.pipeline.fatal()?.message ?? "", /handed over to consumer group "other"/);
});
