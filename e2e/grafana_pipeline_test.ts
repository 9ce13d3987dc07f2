/**
 * The dashboard on data written by the real pipeline: the producer publishes simulated activity
 * (with injected malformed messages, and a few messages of the old prototype's shape beside it)
 * to a real broker, the real consumer counts it into a real PostgreSQL, and every panel's and
 * alert's SQL, expanded as Grafana expands it and run as the reader role, must agree with what an
 * independent reading of the topic says (the product analytics with plain `JSON.parse`).
 */
import assert from "node:assert/strict";
import { decode, readConfig, type RejectReason } from "@activity/shared";
import { createKafka, topicEndOffsets } from "@activity/shared/kafka";
import { producerProgram, type ProducerSummary, runProducer } from "@activity/producer";
import { panelTimeRange } from "@activity/grafana/emulation";
import {
  assertStoredAnalytics,
  expectedPanels,
  parseTopicMessage,
  type TopicEvent,
} from "../testing/analytics_expected.ts";
import {
  cliArgs,
  committedMessages,
  publishRaw,
  type RawMessage,
  readTopicBack,
  startTestConsumer,
  testConsumerConfig,
  testServices,
  uniqueName,
  waitUntil,
} from "../testing/mod.ts";
import { testLogger } from "../testing/consumer_fixture.ts";
import { dashboardDatabase, type Row, runAllAsGrafana } from "./grafana_fixtures.ts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Counted {
  readonly userId: string;
  readonly type: string;
  readonly minute: number;
}

/** Every message of the topic, decoded with the event contract the consumer also uses. */
async function readTopic(
  brokers: string[],
  topic: string,
): Promise<{ accepted: Counted[]; rejected: Map<RejectReason, number> }> {
  const accepted: Counted[] = [];
  const rejected = new Map<RejectReason, number>();
  for (const message of await readTopicBack(brokers, topic)) {
    const outcome = decode(message.value ?? new Uint8Array(), { nowMs: Date.now() });
    if (outcome.kind === "accepted") {
      accepted.push({
        userId: outcome.event.user_id,
        type: outcome.event.event_type,
        minute: Math.floor(outcome.occurredAtMs / MINUTE) * MINUTE,
      });
    } else {
      rejected.set(outcome.reason, (rejected.get(outcome.reason) ?? 0) + 1);
    }
  }
  return { accepted, rejected };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function seconds(time: unknown): number {
  return time instanceof Date ? time.getTime() / 1000 : Number(time);
}

function sum(rows: Row[], column: string): number {
  return rows.reduce((total, row) => total + (row[column] as number), 0);
}

/** Messages of the old prototype's shape: users of the simulation and users of their own. */
function legacyMessages(count: number, nowMs: number): RawMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const userId = i % 2 === 0 ? `user_${1 + (i % 40)}` : 900 + i;
    const timestamp = new Date(nowMs - 60_000 - i * 70_000).toISOString().slice(0, 19);
    return {
      key: String(userId),
      value: new TextEncoder().encode(
        JSON.stringify({ user_id: userId, event_type: "click", timestamp }),
      ),
    };
  });
}

const LEGACY = 60;

Deno.test("the dashboard shows what the producer sent and the consumer counted", async (t) => {
  const { brokers } = await testServices();
  await using db = await dashboardDatabase("grafana_pipeline");
  const topic = uniqueName("grafana_pipeline");
  const group = uniqueName("grafana_pipeline_group");
  const log = testLogger("grafana-pipeline-producer");

  // 6 000 messages in about 12 s, spread by the simulated clock over the last 90 minutes.
  const outcome = readConfig(producerProgram, {
    args: cliArgs({
      brokers: brokers.join(","),
      topic,
      partitions: 3,
      rate: 500,
      count: 6000,
      users: 40,
      seed: 20240501,
      "invalid-ratio": 0.02,
      start: new Date(Date.now() - 90 * MINUTE).toISOString(),
      speed: 450,
      "log-level": "warn",
    }),
    env: {},
  });
  if (outcome.kind !== "config") throw new Error(`producer config: ${JSON.stringify(outcome)}`);
  const produced: ProducerSummary = await runProducer(outcome.config, { log });
  assert.equal(produced.failed, 0);
  assert.equal(produced.sent, 6000);
  const kafka = createKafka({ brokers, clientId: "grafana-pipeline-test" });
  await publishRaw(kafka, topic, legacyMessages(LEGACY, Date.now()));

  const consumer = startTestConsumer(
    testConsumerConfig({
      brokers: brokers.join(","),
      topic,
      group,
      "database-url": db.url,
      "dlq-topic": `${topic}.dlq`,
    }),
    "grafana-pipeline-consumer",
  );
  try {
    const end = [...(await topicEndOffsets(kafka, topic)).values()]
      .reduce((total, offset) => total + Number(offset), 0);
    assert.equal(end, 6000 + LEGACY);
    await waitUntil(
      "the consumer committed every message",
      async () => await committedMessages(db.sql, group, topic) === end,
      { timeoutMs: 120_000 },
    );
  } finally {
    await consumer.stop();
  }

  const topicContents = await readTopic(brokers, topic);
  const now = new Date();
  const nowMs = now.getTime();
  const inRange = (from: number) => (item: Counted) => item.minute >= from && item.minute <= nowMs;
  const accepted = topicContents.accepted;
  assert.equal(accepted.length, 6000 - produced.invalidSent + LEGACY);

  const ranges = { "6h": { from: "now-6h", to: "now" }, "30d": { from: "now-30d", to: "now" } };
  const results = await runAllAsGrafana(db.sql, { now, range: ranges["6h"] });
  const month = await runAllAsGrafana(db.sql, { now, range: ranges["30d"] });
  const rows = (key: string) => results.get(key)!.rows;

  await t.step("the product analytics equal the topic read with plain JSON.parse", async () => {
    const messages = await readTopicBack(brokers, topic);
    const events = messages.map((message) => parseTopicMessage(message.value, nowMs));
    const read = events.filter((event): event is TopicEvent => event !== undefined);
    assert.equal(messages.length - read.length, produced.invalidSent, "the injected ones are out");
    assert.equal(read.filter((event) => event.session === null).length, LEGACY);
    const sessions = await assertStoredAnalytics(db.sql, read);
    assert.ok(sessions.size > 100, `${sessions.size} sessions`);
    for (const [label, answers] of [["6h", results], ["30d", month]] as const) {
      const expected = expectedPanels(read, panelTimeRange(ranges[label], undefined, now));
      for (const [key, panelRows] of expected) {
        assert.deepEqual(answers.get(key)!.rows, panelRows, `${key} over ${label}`);
      }
    }
    const [{ distinct_users }] = month.get("panel 12 A")!.rows;
    assert.ok((distinct_users as number) > 40, "simulated and legacy-only users");
    console.log(
      `analytics: ${read.length} events, ${sessions.size} sessions, ${distinct_users} users compared`,
    );
  });

  // 1. Today so far, by event time.
  const today = accepted.filter(inRange(Math.floor(nowMs / DAY) * DAY));
  assert.deepEqual(rows("panel 1 A"), [{ events: today.length }]);

  // 5. The split by type is what the producer says it sent and what the topic holds.
  const byType = countBy(accepted, (item) => item.type);
  assert.deepEqual(
    Object.fromEntries(rows("panel 5 A").map((row) => [row.event_type, row.events])),
    Object.fromEntries(byType),
  );
  assert.deepEqual(Object.fromEntries(byType), {
    ...produced.sentByType,
    click: (produced.sentByType.click ?? 0) + LEGACY,
  });

  // 3. The last hour's five most active users (ties by user id), computed from the topic.
  const lastHour = countBy(accepted.filter(inRange(nowMs - HOUR)), (item) => item.userId);
  const top5 = [...lastHour].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
  assert.deepEqual(
    rows("panel 3 A").map((row) => [row.user_id, row.events]),
    top5,
  );

  // 4. Events per minute and type (1-minute buckets over 6 hours).
  const perMinuteType = countBy(accepted, (item) => `${item.minute / 1000} ${item.type}`);
  assert.deepEqual(
    new Map(
      rows("panel 4 A").map((row) => [`${seconds(row.time)} ${row.metric}`, row.events_per_minute]),
    ),
    perMinuteType,
  );

  // 6. Distinct active users per minute.
  const usersPerMinute = new Map<number, Set<string>>();
  for (const item of accepted) {
    usersPerMinute.set(
      item.minute / 1000,
      (usersPerMinute.get(item.minute / 1000) ?? new Set()).add(item.userId),
    );
  }
  assert.deepEqual(
    new Map(rows("panel 6 A").map((row) => [seconds(row.time), row.active_users])),
    new Map([...usersPerMinute].map(([minute, users]) => [minute, users.size])),
  );

  // 7, 8. Everything was processed in the last minutes: throughput sums to the messages, the
  // cumulative count ends at the accepted events.
  assert.equal(sum(rows("panel 7 A"), "accepted_per_minute"), accepted.length);
  assert.equal(sum(rows("panel 7 A"), "rejected_per_minute"), produced.invalidSent);
  assert.equal(rows("panel 8 A").at(-1)!.events_counted, accepted.length);

  // 10, 11. Rejections by reason are exactly the injected ones; the table shows the newest.
  const rejectedByReason = new Map<string, number>();
  for (const row of rows("panel 10 A")) {
    rejectedByReason.set(
      row.metric as string,
      (rejectedByReason.get(row.metric as string) ?? 0) + (row.rejected_per_minute as number),
    );
  }
  assert.deepEqual(Object.fromEntries(rejectedByReason), produced.invalidByReason);
  assert.deepEqual(Object.fromEntries(topicContents.rejected), produced.invalidByReason);
  assert.equal(rows("panel 11 A").length, Math.min(100, produced.invalidSent));
  for (const row of rows("panel 11 A")) {
    assert.ok(row.reason as string in produced.invalidByReason, String(row.reason));
    assert.ok(String(row.detail).length > 0);
  }

  // 2. Fresh: the newest counted minute is recent and a commit happened moments ago.
  const [newest] = rows("panel 2 A");
  assert.ok((newest.newest_event_age as number) < 600, JSON.stringify(newest));
  const [commit] = rows("panel 2 B");
  assert.ok((commit.last_commit_age as number) < 120, JSON.stringify(commit));

  // 9. Lag was sampled for every partition the consumer committed.
  const partitions = new Set(rows("panel 9 A").map((row) => row.metric));
  assert.deepEqual(partitions, new Set([0, 1, 2].map((p) => `${group} ${topic}/${p}`)));

  // Alerts: events were counted in the last 5 minutes; 2 % injected is above the 1 % threshold.
  assert.deepEqual(rows("alert activity-no-events A"), [{ events_counted: accepted.length }]);
  assert.deepEqual(rows("alert activity-rejected-share A"), [{
    rejected_share: produced.invalidSent / (6000 + LEGACY),
  }]);
  assert.ok(rows("alert activity-lag-growing A").every((row) => row.lag_growth === 0));

  // Over 30 days the same totals come from the hourly rollup.
  assert.deepEqual(
    Object.fromEntries(month.get("panel 5 A")!.rows.map((row) => [row.event_type, row.events])),
    Object.fromEntries(byType),
  );
});
