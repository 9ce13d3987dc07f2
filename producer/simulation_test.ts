import assert from "node:assert/strict";
import { canonicalEvent, decode, REJECT_REASONS } from "@activity/shared";
import { eventMixOf, SIMULATION_START, testSimulation } from "../testing/simulation_samples.ts";
import { createSimulation, type SimulatedMessage, type SimulationSettings } from "./simulation.ts";

const START = SIMULATION_START;
const SETTINGS: SimulationSettings = testSimulation();

function take(count: number, overrides: Partial<SimulationSettings> = {}): SimulatedMessage[] {
  const simulation = createSimulation({ ...SETTINGS, ...overrides });
  return Array.from({ length: count }, () => simulation.next());
}

function valueText(message: SimulatedMessage): string {
  return typeof message.value === "string"
    ? message.value
    : new TextDecoder().decode(message.value);
}

Deno.test("the same seed and settings give the same messages, ids and times included", () => {
  const a = take(5000, { invalidRatio: 0.05 });
  const b = take(5000, { invalidRatio: 0.05 });
  assert.deepEqual(a, b);
  const other = take(5000, { seed: 43 });
  assert.notDeepEqual(other.map((m) => m.eventId), a.map((m) => m.eventId));
});

Deno.test("every valid message decodes as an event keyed by its user, stamped on the simulated clock", () => {
  const messages = take(20_000);
  const ids = new Set<string>();
  for (const message of messages) {
    const result = decode(new TextEncoder().encode(valueText(message)), {
      nowMs: message.occurredAtMs,
    });
    assert.equal(result.kind, "accepted", JSON.stringify(result));
    if (result.kind !== "accepted") continue;
    assert.equal(result.event.user_id, message.key);
    assert.equal(result.event.event_type, message.eventType);
    assert.equal(canonicalEvent(result).event_id, message.eventId);
    assert.equal(result.occurredAtMs, message.occurredAtMs);
    assert.equal(message.occurredAtMs, Math.floor(START + message.scheduledMs));
    ids.add(message.eventId);
  }
  assert.equal(ids.size, messages.length, "event ids are unique");
});

Deno.test("the event-type mix is the configured one within 1.5 percentage points", () => {
  for (const text of ["view=5,scroll=3,click=2", "view=2,scroll=1,click=6,purchase=1"]) {
    const mix = eventMixOf(text);
    const messages = take(100_000, { mix });
    mix.types.forEach((type, i) => {
      const share = messages.filter((m) => m.eventType === type).length / messages.length;
      assert.ok(Math.abs(share - mix.shares[i]) < 0.015, `${text}: ${type} ${share}`);
    });
  }
});

Deno.test("user activity is skewed: the most active 1% of users produce about 39% of events", () => {
  const messages = take(100_000);
  const perUser = new Map<string, number>();
  for (const m of messages) perUser.set(m.key, (perUser.get(m.key) ?? 0) + 1);
  const sorted = [...perUser.values()].sort((a, b) => b - a);
  const top = sorted.slice(0, 10).reduce((a, b) => a + b, 0) / messages.length;
  assert.ok(top > 0.36 && top < 0.42, `top 1%: ${top}`);
  assert.ok(perUser.size > 950, `users seen: ${perUser.size}`);
});

Deno.test("rate on the simulated clock: N events span N/rate seconds, times speed", () => {
  for (const speed of [1, 60]) {
    const messages = take(50_000, { ratePerSecond: 250, speed });
    const spanMs = messages[messages.length - 1].occurredAtMs - START;
    const rate = messages.length / (spanMs / 1000) * speed;
    assert.ok(Math.abs(rate / 250 - 1) < 0.015, `speed ${speed}: ${rate}/s`);
    const scheduled = messages.length / (messages[messages.length - 1].scheduledMs / 1000);
    assert.ok(Math.abs(scheduled / 250 - 1) < 0.015, `schedule ${scheduled}/s`);
  }
});

Deno.test("sessions start with a view, scroll and click on the last viewed page, and keep their user", () => {
  const messages = take(50_000);
  const sessions = new Map<string, SimulatedMessage[]>();
  for (const m of messages) {
    const list = sessions.get(m.sessionId) ?? [];
    list.push(m);
    sessions.set(m.sessionId, list);
  }
  let lengths = 0;
  for (const [id, events] of sessions) {
    assert.match(id, /^s_[0-9a-f]{16}$/);
    assert.equal(events[0].eventType, "view", `session ${id} starts with ${events[0].eventType}`);
    assert.equal(events[0].sessionStart, true);
    assert.ok(events.slice(1).every((e) => !e.sessionStart));
    assert.ok(events.every((e) => e.key === events[0].key), "one user per session");
    let page = events[0].page;
    for (const event of events) {
      if (event.eventType === "view") page = event.page;
      else assert.equal(event.page, page, "a scroll or click happens on the page last viewed");
    }
    lengths += events.length;
  }
  const landing = messages.filter((m) => m.sessionStart);
  assert.ok(landing.every((m) => JSON.parse(valueText(m)).properties.referrer !== "internal"));
  // Sessions end after 12 events on average (fewer when the run cuts them off).
  const mean = lengths / sessions.size;
  assert.ok(mean > 9 && mean < 13, `mean session length ${mean}`);
});

Deno.test("a session ends when its user stays idle past the timeout", () => {
  // Two users, one event every 20 simulated minutes: the 15-minute timeout ends every session.
  const messages = take(200, {
    users: 2,
    ratePerSecond: 1 / 1200,
    sessionTimeoutMs: 15 * 60_000,
    meanSessionEvents: 1000,
  });
  const lastAt = new Map<string, number>();
  let longGaps = 0, shortGaps = 0, shortGapsKept = 0;
  for (const m of messages) {
    const previous = lastAt.get(m.key);
    if (previous !== undefined && m.occurredAtMs - previous > 15 * 60_000) {
      longGaps++;
      assert.ok(m.sessionStart, "after a long gap a new session starts");
    } else if (previous !== undefined) {
      shortGaps++;
      if (!m.sessionStart) shortGapsKept++;
    }
    lastAt.set(m.key, m.occurredAtMs);
  }
  assert.ok(longGaps > 50 && shortGaps > 50, `${longGaps} long and ${shortGaps} short gaps`);
  // Sessions planned to last ~1000 events rarely end on their own within 200 events.
  assert.ok(shortGapsKept / shortGaps > 0.9, "after a short gap the session goes on");
});

Deno.test("malformed messages make up the invalid ratio, each rejection kind in turn, keyed by user", () => {
  const messages = take(40_000, { invalidRatio: 0.1 });
  const malformed = messages.filter((m) => m.malformed !== undefined);
  assert.ok(Math.abs(malformed.length / messages.length - 0.1) < 0.01, `${malformed.length}`);
  assert.deepEqual(
    malformed.slice(0, REJECT_REASONS.length).map((m) => m.malformed),
    [...REJECT_REASONS],
  );
  for (const m of malformed) {
    assert.match(m.key, /^user_\d+$/);
    const result = decode(
      typeof m.value === "string" ? new TextEncoder().encode(m.value) : m.value,
      { nowMs: m.occurredAtMs },
    );
    assert.equal(result.kind === "rejected" && result.reason, m.malformed);
  }
});

Deno.test("the invalid ratio does not change who acts or when", () => {
  const clean = take(3000);
  const dirty = take(3000, { invalidRatio: 0.3 });
  assert.deepEqual(
    dirty.map((m) => [m.key, m.eventId, m.occurredAtMs]),
    clean.map((m) => [m.key, m.eventId, m.occurredAtMs]),
  );
});

Deno.test("nextAt stamps messages with the given time instead of the schedule", () => {
  const simulation = createSimulation(SETTINGS);
  const at = START + 123_456.7;
  const message = simulation.nextAt(at);
  assert.equal(message.occurredAtMs, Math.floor(at));
  assert.ok(Number.isNaN(message.scheduledMs));
  assert.equal(JSON.parse(valueText(message)).occurred_at, new Date(Math.floor(at)).toISOString());
});
