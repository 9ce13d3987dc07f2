/**
 * Messages and failures that once stopped all counting: a megabyte key (the
 * Kafka client's key hash took time quadratic in the key's length), a
 * dead-letter topic that refuses what it is sent, and flush statements that
 * hang on a lock. Each against the real broker, PostgreSQL and consumer CLI.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionTypes } from "kafkajs";
import { ensureTopics } from "@activity/shared/kafka";
import { DEAD_LETTER_LIMITS } from "../consumer/dead_letters.ts";
import { MAX_STORED_KEY_BYTES } from "../consumer/flush_statement.ts";
import {
  assertCountsExact,
  eventMessages,
  httpGet,
  logLines,
  printFigures,
  publishRaw,
  readTopicBack,
  seededEvents,
  startConsumerRun,
  waitUntil,
} from "../testing/mod.ts";

Deno.test("a message with a 4 MB key between valid events is stored with its key cut, dead-lettered cut, and counting goes on", async () => {
  await using run = await startConsumerRun({ name: "poison_key", partitions: 1 });
  const before = seededEvents({ count: 500, seed: 41, spanMs: 60_000 });
  const after = seededEvents({ count: 500, seed: 42, spanMs: 60_000 });
  await publishRaw(run.kafka, run.topic, eventMessages(before));
  const producer = run.kafka.producer();
  await producer.connect();
  const started = Date.now();
  try {
    // Compressed, so the broker takes it; an explicit partition, so our own client does not
    // hash the key either.
    await producer.send({
      topic: run.topic,
      compression: CompressionTypes.GZIP,
      messages: [{ partition: 0, key: Buffer.alloc(4_000_000, 97), value: "not json" }],
    });
  } finally {
    await producer.disconnect();
  }
  await publishRaw(run.kafka, run.topic, eventMessages(after));
  await run.reach(1_001, { timeoutMs: 60_000 });
  const seconds = (Date.now() - started) / 1000;
  const compared = await assertCountsExact(run.db.sql, [...before, ...after]);
  const [row] = await run.db.sql`SELECT reason, length(message_key) AS stored_key, key_bytes,
    dead_letter, kafka_offset FROM rejected_events`;
  assert.deepEqual({ ...row }, {
    reason: "not_json",
    stored_key: MAX_STORED_KEY_BYTES,
    key_bytes: 4_000_000,
    dead_letter: "sent cut",
    kafka_offset: "500",
  });
  const [letter] = await readTopicBack(run.brokers, run.dlqTopic);
  assert.equal(letter.key?.length, DEAD_LETTER_LIMITS.keyBytes);
  assert.equal(letter.headers["truncated"], "true");
  assert.equal(letter.headers["original-key-bytes"], "4000000");
  assert.ok(!run.exited(), "the consumer is still running");
  printFigures("poison_key", {
    key_bytes: row.key_bytes,
    valid_events_counted: compared.events,
    seconds_to_count_all: seconds,
  });
});

Deno.test("dead letters the topic refuses as they are go cut small, and what it refuses even then is recorded, never retried", async () => {
  // A dead-letter topic, made before the consumer starts, whose size limit is below the small
  // form of a 100 kB message.
  const limited = `poison_dlq_limited_${crypto.randomUUID().slice(0, 8)}`;
  await using second = await startConsumerRun({
    name: "poison_dlq",
    partitions: 1,
    flags: { "dlq-topic": limited },
    before: (kafka) =>
      ensureTopics(kafka, [{
        topic: limited,
        partitions: 1,
        config: { "max.message.bytes": "12000" },
      }]),
  });
  const tooLarge = new Uint8Array(100_000).fill(0x7b); // rejected as too_large
  const smallBad = new TextEncoder().encode("x".repeat(5_000)); // rejected as not_json
  const valid = seededEvents({ count: 100, seed: 43, spanMs: 60_000 });
  await publishRaw(second.kafka, second.topic, [
    { key: "k1", value: smallBad },
    { key: "k2", value: tooLarge },
    ...eventMessages(valid),
  ]);
  await second.reach(102);
  const rows = await second.db.sql`SELECT kafka_offset, dead_letter FROM rejected_events
    ORDER BY kafka_offset`;
  assert.deepEqual(rows.map((row) => row.kafka_offset), ["0", "1"]);
  assert.equal(rows[0].dead_letter, "sent");
  assert.match(rows[1].dead_letter, /^refused: /);
  await assertCountsExact(second.db.sql, valid);
  const letters = await readTopicBack(second.brokers, limited);
  assert.equal(letters.length, 1);
  printFigures("poison_dlq", { dead_letter_refused: rows[1].dead_letter.slice(0, 60) });
});

Deno.test("flush statements that hang on a lock time out and are retried; /readyz turns 503 after the set time and the log says so once", async () => {
  const flushTimeoutMs = 1_000;
  await using run = await startConsumerRun({
    name: "poison_lock",
    partitions: 1,
    flags: {
      "flush-timeout-ms": flushTimeoutMs,
      "not-ready-after-ms": 3_000,
      "log-level": "info",
    },
  });
  const first = seededEvents({ count: 200, seed: 44, spanMs: 60_000 });
  await publishRaw(run.kafka, run.topic, eventMessages(first));
  await run.reach(200);
  const held = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  const lock = run.db.sql.begin(async (tx) => {
    await tx`LOCK TABLE user_event_summary IN EXCLUSIVE MODE`;
    locked.resolve();
    await held.promise;
  });
  const second = seededEvents({ count: 200, seed: 45, spanMs: 60_000 });
  let notReady: { status: number; body: string } | undefined;
  let notReadyAfterS: number;
  try {
    // The lock's own failure ends the wait too.
    await Promise.race([locked.promise, lock]);
    await publishRaw(run.kafka, run.topic, eventMessages(second));
    const lockedAt = Date.now();
    await waitUntil("/readyz reports the failing flushes", async () => {
      notReady = await httpGet(run.metricsPort, "/readyz");
      return notReady?.status === 503;
    }, { timeoutMs: 20_000 });
    notReadyAfterS = (Date.now() - lockedAt) / 1000;
    // More failed attempts: the log must not repeat itself.
    const attemptsThen = attemptsIn(notReady!.body);
    await waitUntil("two more flush attempts fail", async () => {
      const now = await httpGet(run.metricsPort, "/readyz");
      return now?.status === 503 && attemptsIn(now.body) >= attemptsThen + 2;
    }, { timeoutMs: 30_000 });
  } finally {
    held.resolve();
    await lock;
  }
  await run.reach(400);
  await waitUntil("/readyz is 200 again", async () => {
    return (await httpGet(run.metricsPort, "/readyz"))?.status === 200;
  }, { timeoutMs: 10_000 });
  run.consumer.kill("SIGTERM");
  const { code, stderr } = await run.consumer.finished;
  assert.equal(code, 0, stderr.slice(-2_000));
  assert.match(notReady!.body, /^not ready: flushes have failed for \d+ s \(\d+ attempts\): /);
  const lines = logLines(stderr);
  const said = (text: string) => lines.filter((line) => String(line.msg).startsWith(text));
  assert.equal(said("flushes are failing").length, 1);
  assert.equal(said("flushes are failing")[0].code, "57014", "cancelled by statement_timeout");
  assert.equal(said("flushes have kept failing").length, 1);
  assert.equal(said("flushes commit again").length, 1);
  const compared = await assertCountsExact(run.db.sql, [...first, ...second]);
  printFigures("poison_lock", {
    flush_timeout_s: flushTimeoutMs / 1000,
    ready_503_after_s: Math.round(notReadyAfterS * 10) / 10,
    failed_attempts_at_503: attemptsIn(notReady!.body),
    failing_log_lines: said("flushes are failing").length,
    events_compared: compared.events,
  });
});

/** The failed flush attempts a not-ready `/readyz` body counts (0 when it names none). */
function attemptsIn(body: string): number {
  return Number(/\((\d+) attempts\)/.exec(body)?.[1] ?? 0);
}
