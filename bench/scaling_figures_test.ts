import assert from "node:assert/strict";
import { type ConsumerSample, scalingFigures, type ScalingRunInput } from "./scaling_figures.ts";

/** A consumer that holds `partitions` from `fromMs` and commits `rate` events/s until `events`. */
function consumer(
  options: { fromMs: number; rate: number; events: number; partitions: number; untilMs: number },
): ConsumerSample[] {
  const samples: ConsumerSample[] = [];
  for (let atMs = 0; atMs <= options.untilMs; atMs += 100) {
    const busy = Math.max(0, atMs - options.fromMs);
    const committed = Math.min(options.events, Math.floor((busy * options.rate) / 1000));
    samples.push({
      atMs,
      committed,
      assigned: atMs >= options.fromMs ? options.partitions : 0,
      // 20 µs of CPU per event, plus a constant 0.1 core while running.
      cpuSeconds: committed * 20e-6 + atMs / 10_000,
      flushSeconds: Math.floor(committed / 10_000) * 0.2,
      flushes: Math.floor(committed / 10_000),
      summaryRows: Math.floor(committed / 4),
    });
  }
  return samples;
}

const machine = { busySeconds: 30, totalSeconds: 40, loadStart: 1.5, loadEnd: 2.5 };

Deno.test("two consumers: rates over their busy time, the all-busy total, CPU per event and the PostgreSQL share of flush time", () => {
  const input: ScalingRunInput = {
    consumers: 2,
    events: 200_000,
    startedMs: 0,
    doneMs: 10_000,
    samples: [
      consumer({ fromMs: 1_000, rate: 20_000, events: 120_000, partitions: 3, untilMs: 10_000 }),
      consumer({ fromMs: 2_000, rate: 20_000, events: 80_000, partitions: 3, untilMs: 10_000 }),
    ],
    postgresActiveMs: 2_000,
    postgresSessions: { active: 40, waitingOnLocks: 10 },
    postgresCpuSeconds: 2,
    brokerCpuSeconds: 1,
    machine,
  };
  const run = scalingFigures(input);
  assert.equal(run.allAssignedAfterMs, 2_000);
  assert.equal(run.totalEventsPerSecond, 20_000);
  // Consumer 2 finishes at 6 000 ms, first: both at 20 000/s from 2 000 to 6 000.
  assert.equal(run.totalEventsPerSecondAllBusy, 40_000);
  assert.deepEqual(
    run.perConsumer.map((c) => [c.events, c.partitions, Math.round(c.eventsPerSecond)]),
    [
      [120_000, 3, 20_000],
      [80_000, 3, 20_000],
    ],
  );
  // 20 µs per event plus 0.1 core over ~9 s spread on the events.
  assert.ok(run.consumerCpuMicrosPerEvent! > 20 && run.consumerCpuMicrosPerEvent! < 30);
  assert.equal(run.perConsumer[0].flushes, 12);
  assert.ok(Math.abs(run.perConsumer[0].meanFlushMs - 200) < 1e-9);
  // 20 flushes of 200 ms: 4 000 ms of flushing, of which PostgreSQL executed 2 000 ms.
  assert.ok(Math.abs(run.postgres.shareOfFlushTime - 0.5) < 1e-9);
  assert.equal(run.postgres.activeMsPerFlush, 100);
  assert.equal(run.postgres.lockWaitShare, 0.25);
  assert.equal(run.postgres.summaryRowsPerEvent, 0.25);
  assert.equal(run.postgres.cpuMicrosPerSummaryRow, 40);
  assert.equal(run.postgres.cpuMicrosPerEvent, 10);
  assert.equal(run.brokerCpuMicrosPerEvent, 5);
  assert.equal(run.machine.busyShare, 0.75);
  assert.ok(run.machine.otherCpuSeconds! > 20 && run.machine.otherCpuSeconds! < 27);
});

Deno.test("a member that never got partitions leaves the all-busy figures out instead of inventing them", () => {
  const run = scalingFigures({
    consumers: 2,
    events: 50_000,
    startedMs: 0,
    doneMs: 5_000,
    samples: [
      consumer({ fromMs: 500, rate: 20_000, events: 50_000, partitions: 6, untilMs: 5_000 }),
      consumer({ fromMs: 99_999, rate: 0, events: 0, partitions: 0, untilMs: 5_000 }),
    ],
    postgresActiveMs: 100,
    machine,
  });
  assert.equal(run.allAssignedAfterMs, undefined);
  assert.equal(run.totalEventsPerSecondAllBusy, undefined);
  assert.equal(run.perConsumer[1].eventsPerSecond, 0);
  assert.equal(run.machine.otherCpuSeconds, undefined);
  assert.equal(run.postgres.cpuMicrosPerEvent, undefined);
  assert.equal(run.postgres.lockWaitShare, undefined);
});
