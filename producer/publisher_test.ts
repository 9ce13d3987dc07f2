import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import type { OutgoingBatch } from "./batch.ts";
import { SIMULATION_START, testSimulation } from "../testing/simulation_samples.ts";
import { type MessageSink, publish, type PublishPlan, PublishStats } from "./publisher.ts";
import { createSimulation, type SimulationSettings } from "./simulation.ts";

const START = SIMULATION_START;
const SIMULATION: SimulationSettings = testSimulation({ seed: 7, users: 100, ratePerSecond: 2000 });
const MIX = SIMULATION.mix;
const PLAN: PublishPlan = {
  count: 0,
  durationMs: 0,
  pacing: "max",
  clock: { startMs: START, speed: 1 },
  batch: { maxMessages: 100, maxBytes: 1_000_000, lingerMs: 50 },
  maxInFlight: 1,
  typeCount: MIX.types.length,
};

/** A sink whose batches wait until the test acknowledges or fails them. */
class ManualSink implements MessageSink {
  readonly calls: { batch: OutgoingBatch; resolve: () => void; reject: (e: Error) => void }[] = [];
  settled = 0;
  send(batch: OutgoingBatch): Promise<void> {
    return new Promise((resolve, reject) => this.calls.push({ batch, resolve, reject }));
  }
  get waiting() {
    return this.calls.length - this.settled;
  }
  acknowledgeNext() {
    this.calls[this.settled++].resolve();
  }
  failNext(error: Error) {
    this.calls[this.settled++].reject(error);
  }
}

/** A sink that acknowledges at once and keeps what it got. */
class RecordingSink implements MessageSink {
  readonly batches: OutgoingBatch[] = [];
  send(batch: OutgoingBatch): Promise<void> {
    this.batches.push(batch);
    return Promise.resolve();
  }
  get keys(): string[] {
    return this.batches.flatMap((batch) => batch.keys);
  }
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await turn();
  assert.ok(condition(), "condition not reached");
}

/** A clock that only moves when the loop sleeps, so paced runs take no real time. */
function virtualClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: (ms: number) => {
      now += Math.max(ms, 0);
      return Promise.resolve();
    },
  };
}

Deno.test("exactly --count messages are published, in the simulation's order", async () => {
  const sink = new RecordingSink();
  const result = await publish(createSimulation(SIMULATION), sink, { ...PLAN, count: 1234 });
  assert.equal(result.stoppedBy, "count");
  assert.equal(result.stats.sent, 1234);
  assert.equal(result.stats.generated, 1234);
  assert.equal(sink.keys.length, 1234);
  assert.deepEqual(sink.batches.map((b) => b.count), [...new Array(12).fill(100), 34]);
  const expected = createSimulation(SIMULATION);
  assert.deepEqual(sink.keys, Array.from({ length: 1234 }, () => expected.nextAt(START).key));
  assert.equal(result.stats.sentByType.reduce((a, b) => a + b, 0), 1234);
});

Deno.test("nothing counts as sent before it is acknowledged, and generation waits for a free slot", async () => {
  const sink = new ManualSink();
  const stats = new PublishStats();
  const running = publish(createSimulation(SIMULATION), sink, {
    ...PLAN,
    count: 1000,
    maxInFlight: 2,
  }, {
    stats,
  });
  await until(() => sink.waiting === 2 && stats.generated === 300);
  await turn();
  // Two batches in flight and one built and waiting: nothing more is generated.
  assert.equal(stats.generated, 300);
  assert.equal(stats.sent, 0);
  sink.acknowledgeNext();
  await until(() => stats.sent === 100);
  await until(() => stats.generated === 400);
  assert.equal(sink.waiting, 2);
  while (sink.settled < 10) {
    await until(() => sink.waiting > 0);
    sink.acknowledgeNext();
  }
  const result = await running;
  assert.equal(result.stats.sent, 1000);
  assert.equal(sink.calls.length, 10);
});

Deno.test("a batch that finally fails stops generation; it and every batch left unsent count as failed", async () => {
  const sink = new ManualSink();
  const running = publish(createSimulation(SIMULATION), sink, { ...PLAN, maxInFlight: 2 });
  await until(() => sink.waiting === 2);
  sink.acknowledgeNext();
  await until(() => sink.waiting === 2);
  sink.failNext(new Error("broker gone"));
  await until(() => sink.waiting === 1);
  sink.acknowledgeNext();
  const result = await running;
  assert.equal(result.stoppedBy, "error");
  assert.equal((result.error as Error).message, "broker gone");
  assert.equal(result.stats.sent, 200);
  assert.equal(result.stats.failed, result.stats.generated - 200);
  assert.ok(result.stats.failed >= 100);
  assert.equal(sink.calls.length, 3, "nothing is sent after the failure");
});

Deno.test("aborting stops generating but sends and counts what was generated", async () => {
  const sink = new ManualSink();
  const stop = new AbortController();
  const stats = new PublishStats();
  const running = publish(createSimulation(SIMULATION), sink, PLAN, { signal: stop.signal, stats });
  // One batch in flight, the next one built and waiting for the slot.
  await until(() => sink.waiting === 1 && stats.generated === 200);
  stop.abort();
  sink.acknowledgeNext();
  await until(() => sink.waiting === 1);
  sink.acknowledgeNext();
  const result = await running;
  assert.equal(result.stoppedBy, "signal");
  assert.equal(result.stats.sent, result.stats.generated);
  assert.equal(result.stats.sent, 200);
  assert.equal(result.stats.failed, 0);
});

Deno.test("paced runs send the events due within --duration, each batch within the linger time", async () => {
  const clock = virtualClock();
  const sentAt: number[] = [];
  const sink: MessageSink = {
    send(batch) {
      sentAt.push(clock.now() - batch.openedAt);
      return Promise.resolve();
    },
  };
  const batches: OutgoingBatch[] = [];
  const result = await publish(
    createSimulation(SIMULATION),
    { send: (batch) => (batches.push(batch), sink.send(batch)) },
    { ...PLAN, pacing: "schedule", durationMs: 3000 },
    clock,
  );
  assert.equal(result.stoppedBy, "duration");
  const expected = createSimulation(SIMULATION);
  let due = 0;
  while (expected.next().scheduledMs < 3000) due++;
  assert.equal(result.stats.sent, due);
  assert.ok(Math.abs(due / 6000 - 1) < 0.05, `${due} events in 3 s at 2000/s`);
  assert.ok(sentAt.every((age) => age <= 50), "no batch waits longer than the linger time");
  assert.ok(batches.every((b) => b.count <= 100));
});

Deno.test("at --rate max events are stamped by the simulated clock running at its speed", async () => {
  // Every reading of the clock moves it 10 ms: 600 simulated ms at speed 60.
  let now = 0;
  const sink = new RecordingSink();
  await publish(createSimulation(SIMULATION), sink, {
    ...PLAN,
    count: 640,
    clock: { startMs: START, speed: 60 },
  }, { now: () => (now += 10) });
  const stamps = sink.batches.flatMap((batch) =>
    batch.keys.map((_, i) =>
      Date.parse(JSON.parse(new TextDecoder().decode(batch.value(i))).occurred_at)
    )
  );
  assert.equal(stamps.length, 640);
  assert.ok(stamps[0] > START && (stamps[0] - START) % 600 === 0, String(stamps[0] - START));
  const steps = stamps.slice(1).map((t, i) => t - stamps[i]).filter((step) => step !== 0);
  assert.ok(steps.length >= 9, "the clock is read again at least every 64 events");
  assert.ok(steps.every((step) => step > 0 && step % 600 === 0), String(steps));
});

Deno.test("--duration also bounds runs at --rate max", async () => {
  let now = 0;
  const result = await publish(createSimulation(SIMULATION), new RecordingSink(), {
    ...PLAN,
    durationMs: 100,
  }, { now: () => (now += 1) });
  assert.equal(result.stoppedBy, "duration");
  assert.ok(result.stats.sent > 0 && result.stats.sent === result.stats.generated);
});
