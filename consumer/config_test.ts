import assert from "node:assert/strict";
import { readConfig } from "@activity/shared";
import { consumerProgram } from "./config.ts";

Deno.test("the consumer's defaults are the documented ones", () => {
  const outcome = readConfig(consumerProgram, { args: [], env: {} });
  assert.equal(outcome.kind, "config");
  if (outcome.kind !== "config") return;
  assert.deepEqual(outcome.config, {
    brokers: ["127.0.0.1:9092"],
    topic: "user_activity",
    group: "activity-consumer",
    databaseUrl: "postgres://postgres@127.0.0.1:5432/activity",
    flushEvents: 20_000,
    flushIntervalMs: 500,
    maxBufferEvents: 1_000_000,
    maxBufferKeys: 100_000,
    dlqTopic: "user_activity.dlq",
    replicationFactor: "auto",
    minInsyncReplicas: "auto",
    retentionDays: 30,
    rollupRetentionDays: 0,
    futureToleranceS: 300,
    eventTypes: ["click", "view", "scroll"],
    sessionTimeoutMs: 30_000,
    flushTimeoutMs: 30_000,
    notReadyAfterMs: 30_000,
    takeOverFrom: "",
    metricsPort: 9465,
    logLevel: "info",
  });
});

Deno.test("flags win over environment variables", () => {
  const outcome = readConfig(consumerProgram, {
    args: ["--flush-events", "500", "--event-types", "click, buy"],
    env: { CONSUMER_FLUSH_EVENTS: "9", KAFKA_TOPIC: "other", CONSUMER_METRICS_PORT: "0" },
  });
  assert.equal(outcome.kind, "config");
  if (outcome.kind !== "config") return;
  assert.equal(outcome.config.flushEvents, 500);
  assert.equal(outcome.config.topic, "other");
  assert.equal(outcome.config.metricsPort, 0);
  assert.deepEqual(outcome.config.eventTypes, ["click", "buy"]);
});

Deno.test("a bad event type list is refused with what is allowed", () => {
  const outcome = readConfig(consumerProgram, { args: ["--event-types", "Click,"], env: {} });
  assert.equal(outcome.kind, "error");
  if (outcome.kind !== "error") return;
  assert.match(
    outcome.error.message,
    /"--event-types" must be a comma-separated list of lowercase/,
  );
});

Deno.test("rollups kept shorter than the minutes they roll up are refused, naming both settings", () => {
  const outcome = readConfig(consumerProgram, {
    args: ["--retention-days", "30"],
    env: { ROLLUP_RETENTION_DAYS: "7" },
  });
  assert.equal(outcome.kind, "error");
  if (outcome.kind !== "error") return;
  assert.equal(
    outcome.error.message,
    'Cannot read config: "--rollup-retention-days" (ROLLUP_RETENTION_DAYS) must be 0 (keep ' +
      'forever) or at least "--retention-days" (30): current value is 7',
  );
  for (const rollup of ["0", "30", "400"]) {
    const ok = readConfig(consumerProgram, { args: ["--rollup-retention-days", rollup], env: {} });
    assert.equal(ok.kind, "config", rollup);
  }
});

Deno.test("taking the topic over from the group itself is refused", () => {
  const outcome = readConfig(consumerProgram, {
    args: ["--group", "blue", "--take-over-from", "blue"],
    env: {},
  });
  assert.equal(outcome.kind === "error" && outcome.error.message.includes('"blue"'), true);
});
