import assert from "node:assert/strict";
import { formatHelp, readConfig } from "@activity/shared";
import { producerProgram } from "./settings.ts";

function read(args: string[], env: Record<string, string> = {}) {
  return readConfig(producerProgram, { args, env });
}

function config(args: string[], env: Record<string, string> = {}) {
  const outcome = read(args, env);
  if (outcome.kind !== "config") throw new Error(JSON.stringify(outcome));
  return outcome.config;
}

function error(args: string[], env: Record<string, string> = {}): string {
  const outcome = read(args, env);
  assert.equal(outcome.kind, "error");
  return outcome.kind === "error" ? outcome.error.message : "";
}

Deno.test("the defaults publish 100 events/s for 1000 users to user_activity on the local broker", () => {
  const c = config([]);
  assert.deepEqual(c.brokers, ["127.0.0.1:9092"]);
  assert.equal(c.topic, "user_activity");
  assert.equal(c.partitions, 6);
  assert.equal(c.rate, 100);
  assert.equal(c.users, 1000);
  assert.equal(c.count, 0);
  assert.equal(c.durationMs, 0);
  assert.equal(c.seed, "random");
  assert.deepEqual(c.eventMix.types, ["view", "scroll", "click"]);
  assert.equal(c.invalidRatio, 0);
  assert.equal(c.burst, undefined);
  assert.equal(c.start, "now");
  assert.equal(c.speed, 1);
  assert.equal(c.idempotent, true);
  assert.equal(c.logLevel, "info");
  assert.equal(c.metricsPort, 9464);
  assert.equal(c.progressIntervalMs, 5000);
});

Deno.test("every setting is read from its flag or its environment variable", () => {
  const env = {
    KAFKA_BROKERS: "a:1,b:2",
    KAFKA_TOPIC: "t",
    KAFKA_PARTITIONS: "3",
    PRODUCER_RATE: "max",
    PRODUCER_USERS: "10",
    PRODUCER_COUNT: "500",
    PRODUCER_DURATION: "1.5m",
    PRODUCER_SEED: "7",
    PRODUCER_EVENT_MIX: "view=1,purchase=1",
    PRODUCER_INVALID_RATIO: "0.25",
    PRODUCER_BURST: "3x5s/30s",
    PRODUCER_START: "2026-06-01T02:00:00+02:00",
    PRODUCER_SPEED: "60",
    PRODUCER_IDEMPOTENT: "false",
    PRODUCER_USER_SKEW: "0",
    LOG_LEVEL: "debug",
    PRODUCER_METRICS_PORT: "0",
  };
  const c = config([], env);
  assert.deepEqual(c.brokers, ["a:1", "b:2"]);
  assert.equal(c.topic, "t");
  assert.equal(c.partitions, 3);
  assert.equal(c.rate, "max");
  assert.equal(c.users, 10);
  assert.equal(c.count, 500);
  assert.equal(c.durationMs, 90_000);
  assert.equal(c.seed, 7);
  assert.deepEqual(c.eventMix.shares, [0.5, 0.5]);
  assert.equal(c.invalidRatio, 0.25);
  assert.deepEqual(c.burst, { factor: 3, lengthMs: 5000, everyMs: 30_000 });
  assert.equal(c.start, Date.parse("2026-06-01T00:00:00Z"));
  assert.equal(c.speed, 60);
  assert.equal(c.idempotent, false);
  assert.equal(c.userSkew, 0);
  assert.equal(c.logLevel, "debug");
  assert.equal(c.metricsPort, 0);
  const flags = config(["--rate", "250.5", "--duration", "250ms", "--count", "9"], env);
  assert.equal(flags.rate, 250.5);
  assert.equal(flags.durationMs, 250);
  assert.equal(flags.count, 9);
});

Deno.test("durations take ms, s, m and h, and plain numbers are seconds", () => {
  const ms = (text: string) => config(["--duration", text]).durationMs;
  assert.equal(ms("90"), 90_000);
  assert.equal(ms("30s"), 30_000);
  assert.equal(ms("5m"), 300_000);
  assert.equal(ms("1.5h"), 5_400_000);
  assert.equal(ms("0"), 0);
});

Deno.test("a wrong value names the setting, quotes the value and says what is allowed", () => {
  assert.equal(
    error(["--rate", "fast"]),
    'Cannot read config: "--rate" must be a positive number up to 10000000 or "max": current value is "fast"',
  );
  assert.match(error([], { PRODUCER_RATE: "0" }), /^Cannot read config: "PRODUCER_RATE" must be/);
  assert.match(
    error(["--event-mix", "click=1"]),
    /"--event-mix" must be .*including view.*"click=1"/,
  );
  assert.match(error(["--invalid-ratio", "1.5"]), /"--invalid-ratio" must be a number from 0 to 1/);
  assert.match(error(["--users", "0"]), /"--users" must be a whole number from 1 to 1000000/);
  assert.match(error(["--seed=-1"]), /"--seed" must be a whole number from 0 to 4294967295/);
  assert.match(error(["--seed", "1.5"]), /"--seed" must be/);
  assert.match(error(["--duration", "soon"]), /"--duration" must be a duration/);
  assert.match(error(["--burst", "5x60s/60s"]), /"--burst" must be "off" or/);
  assert.match(error(["--start", "yesterday"]), /"--start" must be an ISO 8601 date-time/);
  assert.match(error(["--start", "2026-06-01T00:00:00"]), /"--start" must be/);
  assert.match(error(["--metrics-port", "70000"]), /"--metrics-port" must be/);
  assert.match(error(["--brokers", "localhost"]), /"--brokers" must be a comma-separated list/);
  assert.match(
    error(["--log-level", "loud"]),
    /"--log-level" must be one of debug, info, warn, error/,
  );
  assert.match(error(["--idempotent", "yes"]), /"--idempotent" must be true or false/);
  assert.match(error(["--progress-interval", "10ms"]), /"--progress-interval" must be/);
  assert.match(error(["--frobnicate", "1"]), /Cannot read config: .*frobnicate/);
});

Deno.test("--help lists every flag with its variable and default", () => {
  const help = formatHelp(producerProgram);
  for (const spec of Object.values(producerProgram.settings)) {
    assert.ok(help.includes(`--${spec.flag} <value>`), spec.flag);
    if (spec.env) assert.ok(help.includes(`env ${spec.env}`), spec.env);
  }
  assert.equal(read(["--help"]).kind, "help");
});
