import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { exitWithin, startCommand } from "../testing/command_output.ts";
import { CONSUMER_PERMISSIONS } from "../testing/consumer_fixture.ts";

/** Runs the consumer CLI, which must exit by itself (help, or a setting it refuses). */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const main = fileURLToPath(new URL("../consumer/main.ts", import.meta.url));
  const { code, stdout, stderr } = await exitWithin(
    startCommand(Deno.execPath(), { args: ["run", ...CONSUMER_PERMISSIONS, main, ...args], env }),
    30_000,
  );
  return { code, out: stdout, err: stderr };
}

Deno.test("consumer --help lists every setting with its variable and exits 0", async () => {
  const { code, out } = await runCli(["--help"]);
  assert.equal(code, 0);
  for (
    const [flag, variable] of [
      ["brokers", "KAFKA_BROKERS"],
      ["topic", "KAFKA_TOPIC"],
      ["group", "CONSUMER_GROUP"],
      ["database-url", "DATABASE_URL"],
      ["flush-events", "CONSUMER_FLUSH_EVENTS"],
      ["flush-interval-ms", "CONSUMER_FLUSH_INTERVAL_MS"],
      ["dlq-topic", "KAFKA_DLQ_TOPIC"],
      ["retention-days", "RETENTION_DAYS"],
      ["future-tolerance-s", "FUTURE_TOLERANCE_S"],
      ["event-types", "EVENT_TYPES"],
      ["metrics-port", "CONSUMER_METRICS_PORT"],
      ["log-level", "LOG_LEVEL"],
    ]
  ) {
    assert.match(out, new RegExp(`--${flag} <value>[\\s\\S]*?env ${variable}`), flag);
  }
});

Deno.test("a bad consumer setting exits 2 naming the setting, the value and what is allowed", async () => {
  const flag = await runCli(["--flush-events", "lots"]);
  assert.equal(flag.code, 2);
  assert.match(
    flag.err,
    /"--flush-events" must be a whole number from 1 to 1000000: current value is "lots"/,
  );
  const env = await runCli([], { RETENTION_DAYS: "-3" });
  assert.equal(env.code, 2);
  assert.match(env.err, /"RETENTION_DAYS" must be a whole number of days from 1 to 3650/);
  const secret = await runCli(["--database-url", "mysql://user:hunter2@db"]);
  assert.equal(secret.code, 2);
  assert.doesNotMatch(secret.err, /hunter2/);
});
