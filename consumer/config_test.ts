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
    databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
    flushEvents: 20_000,
    flushIntervalMs: 500,
    maxBufferEvents: 200_000,
    dlqTopic: "user_activity.dlq",
    replicationFactor: "auto",
    minInsyncReplicas: "auto",
    retentionDays: 30,
    rollupRetentionDays: 0,
    futureToleranceS: 300,
    eventTypes: ["click", "view", "scroll"],
    sessionTimeoutMs: 30_000,
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
