import assert from "node:assert/strict";
import {
  admitRangeOnly,
  admitToBuffer,
  beginStop,
  type CoreSettings,
  createCore,
  cutBuffer,
  flushDecision,
  flushFailed,
  flushSettled,
  isBufferFull,
  readiness,
} from "./pipeline_core.ts";

const SETTINGS: CoreSettings = {
  flushEvents: 100,
  flushIntervalMs: 500,
  maxBufferEvents: 1_000,
  maxBufferKeys: 300,
  maxBufferedRejectedBytes: 10_000,
  catchUpFlushIntervalMs: 2_000,
  stopFlushDeadlineMs: 12_000,
  notReadyAfterFailingMs: 30_000,
};
const unreachable = { kind: "unreachable" as const, code: "ECONNREFUSED", summary: "refused" };
const midRandom = () => 0.5;

Deno.test("a flush is due once enough events are buffered or the oldest waited an interval", () => {
  const core = createCore(SETTINGS);
  assert.deepEqual(flushDecision(core, { nowMs: 0, unreadMessages: 0n }), {
    kind: "wait",
    ms: 500,
  });
  admitToBuffer(core, { keys: 0, events: 10, rejectedBytes: 0, nowMs: 1_000 });
  assert.deepEqual(flushDecision(core, { nowMs: 1_200, unreadMessages: 0n }), {
    kind: "wait",
    ms: 300,
  });
  assert.deepEqual(flushDecision(core, { nowMs: 1_500, unreadMessages: 0n }), { kind: "flush" });
  admitToBuffer(core, { keys: 0, events: 90, rejectedBytes: 0, nowMs: 1_210 });
  assert.deepEqual(flushDecision(core, { nowMs: 1_210, unreadMessages: 0n }), { kind: "flush" });
  assert.equal(cutBuffer(core), 100);
  assert.equal(core.inFlightEvents, 100);
});

Deno.test("far behind, flushes wait for half the buffer or the catch-up interval, collapsing more events per row", () => {
  const core = createCore(SETTINGS);
  admitToBuffer(core, { keys: 0, events: 400, rejectedBytes: 0, nowMs: 0 });
  const behind = { nowMs: 600, unreadMessages: 50_000n };
  assert.deepEqual(flushDecision(core, behind), { kind: "wait", ms: 1_400 });
  assert.deepEqual(flushDecision(core, { ...behind, nowMs: 2_000 }), { kind: "flush" });
  admitToBuffer(core, { keys: 0, events: 100, rejectedBytes: 0, nowMs: 700 });
  assert.deepEqual(flushDecision(core, behind), { kind: "flush" }, "500 = half the buffer");
});

Deno.test("towards the end of a backlog a flush is due once the rest fits in the buffer, and at its end at once", () => {
  // Far behind, flushes wait for half of a large buffer (5 000 events) or 150 distinct rows.
  const core = createCore({ ...SETTINGS, maxBufferEvents: 10_000 });
  admitToBuffer(core, { keys: 100, events: 800, rejectedBytes: 0, nowMs: 0 });
  assert.deepEqual(flushDecision(core, { nowMs: 20, unreadMessages: 900n }), {
    kind: "wait",
    ms: 1_980,
  });
  // Still far behind, but what is left fits in what is buffered: flush, and the rest after.
  assert.deepEqual(flushDecision(core, { nowMs: 25, unreadMessages: 700n }), { kind: "flush" });
  cutBuffer(core);
  // No longer far behind: the live thresholds and interval, until nothing is left to read.
  admitToBuffer(core, { keys: 10, events: 50, rejectedBytes: 0, nowMs: 26 });
  assert.deepEqual(flushDecision(core, { nowMs: 28, unreadMessages: 30n }), {
    kind: "wait",
    ms: 498,
  });
  assert.deepEqual(flushDecision(core, { nowMs: 30, unreadMessages: 0n }), { kind: "flush" });
  cutBuffer(core);
  // Then live: reaching the end of the log again waits for the interval as before.
  admitToBuffer(core, { keys: 1, events: 5, rejectedBytes: 0, nowMs: 40 });
  assert.deepEqual(flushDecision(core, { nowMs: 50, unreadMessages: 0n }), {
    kind: "wait",
    ms: 490,
  });
});

Deno.test("reading live, reaching the end of the log does not flush before the interval", () => {
  const core = createCore(SETTINGS);
  admitToBuffer(core, { keys: 0, events: 5, rejectedBytes: 0, nowMs: 0 });
  assert.deepEqual(flushDecision(core, { nowMs: 100, unreadMessages: 20n }), {
    kind: "wait",
    ms: 400,
  });
  assert.deepEqual(flushDecision(core, { nowMs: 200, unreadMessages: 0n }), {
    kind: "wait",
    ms: 300,
  });
});

Deno.test("fetching waits while the buffer holds too many events or too many rejected bytes", () => {
  const core = createCore(SETTINGS);
  admitToBuffer(core, { keys: 0, events: 3, rejectedBytes: 9_999, nowMs: 0 });
  assert.ok(!isBufferFull(core));
  admitToBuffer(core, { keys: 0, events: 1, rejectedBytes: 1, nowMs: 0 });
  assert.ok(isBufferFull(core), "rejected keys and values are bounded like events");
  cutBuffer(core);
  assert.ok(!isBufferFull(core));
  admitToBuffer(core, { keys: 0, events: 1_000, rejectedBytes: 0, nowMs: 0 });
  assert.ok(isBufferFull(core));
});

Deno.test("a revoked partition's flush is asked for at once, and a moved offset alone is flushed", () => {
  const core = createCore(SETTINGS);
  admitToBuffer(core, { keys: 0, events: 1, rejectedBytes: 0, nowMs: 0 });
  core.flushRequested = true;
  assert.deepEqual(flushDecision(core, { nowMs: 1, unreadMessages: 0n }), { kind: "flush" });
  cutBuffer(core);
  assert.equal(core.flushRequested, false);
  admitRangeOnly(core, 10);
  assert.deepEqual(flushDecision(core, { nowMs: 600, unreadMessages: 0n }), { kind: "flush" });
});

Deno.test("failed flushes back off with jitter; the first failure and the move to not ready are told once", () => {
  const core = createCore(SETTINGS);
  const first = flushFailed(core, { nowMs: 0, failure: unreachable, random: midRandom });
  assert.equal(first.kind, "retry");
  if (first.kind !== "retry") return;
  assert.equal(first.delayMs, 75, "100 ms halved plus half of the random half");
  assert.deepEqual(first.transitions.map((t) => t.kind), ["failing"]);
  const delays: number[] = [];
  let told = 0;
  for (let now = 1_000; now <= 60_000; now += 1_000) {
    const next = flushFailed(core, { nowMs: now, failure: unreachable, random: () => 1 });
    if (next.kind !== "retry") throw new Error("not stopping: never abandons");
    delays.push(next.delayMs);
    told += next.transitions.filter((t) => t.kind === "not_ready").length;
  }
  assert.equal(Math.max(...delays), 5_000, "capped at 5 s");
  assert.equal(told, 1, "not ready is said once, not per retry");
  const failingFor = (nowMs: number) =>
    readiness(core, { nowMs, assignedPartitions: 3, databaseAnswers: true });
  assert.deepEqual(failingFor(29_000), { ready: true }, "short outages do not flap /readyz");
  assert.deepEqual(failingFor(45_000), {
    ready: false,
    reason: "flushes have failed for 45 s (61 attempts): refused",
  });
  const recovered = flushSettled(core, 62_000);
  assert.deepEqual(recovered, { kind: "recovered", afterMs: 62_000, attempts: 61 });
  assert.deepEqual(
    readiness(core, { nowMs: 62_000, assignedPartitions: 3, databaseAnswers: true }),
    {
      ready: true,
    },
  );
});

Deno.test("a permanent failure is retried calmly, and a data error stores rejections without bytes", () => {
  const core = createCore(SETTINGS);
  const privileges = { kind: "permanent" as const, code: "42501", summary: "permission denied" };
  let last = flushFailed(core, { nowMs: 0, failure: privileges, random: () => 1 });
  for (let i = 0; i < 20; i++) {
    last = flushFailed(core, { nowMs: i * 1_000, failure: privileges, random: () => 1 });
  }
  assert.ok(last.kind === "retry" && last.delayMs === 30_000 && !last.withoutRejectedBytes);
  const data = { kind: "permanent" as const, code: "22021", summary: "invalid byte sequence" };
  const next = flushFailed(core, { nowMs: 30_000, failure: data, random: () => 1 });
  assert.ok(next.kind === "retry" && next.withoutRejectedBytes);
});

Deno.test("a stopping consumer retries its last flush until the deadline, then abandons it", () => {
  const core = createCore(SETTINGS);
  admitToBuffer(core, { keys: 0, events: 40, rejectedBytes: 0, nowMs: 0 });
  cutBuffer(core);
  admitToBuffer(core, { keys: 0, events: 2, rejectedBytes: 0, nowMs: 5 });
  assert.ok(beginStop(core, 1_000));
  assert.ok(!beginStop(core, 1_500), "a second stop changes nothing");
  const retry = flushFailed(core, { nowMs: 12_900, failure: unreachable, random: () => 1 });
  assert.deepEqual(retry.kind === "retry" && retry.delayMs, 100, "the wait ends at the deadline");
  assert.deepEqual(flushFailed(core, { nowMs: 13_000, failure: unreachable }), {
    kind: "abandon",
    events: 42,
  });
  assert.deepEqual(flushDecision(core, { nowMs: 13_000, unreadMessages: 0n }), { kind: "flush" });
  cutBuffer(core);
  flushSettled(core, 13_000);
  assert.deepEqual(flushDecision(core, { nowMs: 13_000, unreadMessages: 0n }), {
    kind: "finished",
  });
});

Deno.test("not ready says why: stopping, blocked, no database, no partitions", () => {
  const core = createCore(SETTINGS);
  const state = { nowMs: 0, assignedPartitions: 0, databaseAnswers: true };
  assert.deepEqual(readiness(core, state), {
    ready: false,
    reason: "no partitions assigned (joining the group)",
  });
  assert.deepEqual(readiness(core, { ...state, databaseAnswers: false }), {
    ready: false,
    reason: "PostgreSQL does not answer",
  });
  core.blocked = 'topic "t" does not exist yet (the producer creates it)';
  assert.deepEqual(readiness(core, state), { ready: false, reason: core.blocked });
  beginStop(core, 0);
  assert.deepEqual(readiness(core, state), { ready: false, reason: "stopping" });
});

Deno.test("the buffer is bounded by the distinct rows it will write, not only by events", () => {
  const core = createCore(SETTINGS);
  admitToBuffer(core, { events: 10, rejectedBytes: 0, keys: 150, nowMs: 0 });
  const behind = { nowMs: 1, unreadMessages: 50_000n };
  assert.deepEqual(flushDecision(core, behind), { kind: "flush" }, "far behind: half the keys");
  assert.deepEqual(flushDecision(core, { ...behind, unreadMessages: 30n }), {
    kind: "wait",
    ms: 499,
  });
  assert.ok(!isBufferFull(core));
  admitToBuffer(core, { events: 10, rejectedBytes: 0, keys: 300, nowMs: 1 });
  assert.ok(isBufferFull(core), "300 distinct rows: fetching waits");
  assert.deepEqual(flushDecision(core, { ...behind, unreadMessages: 0n }), { kind: "flush" });
});
