import assert from "node:assert/strict";
import { z } from "zod";
import { commonSettings, formatHelp, parsers, readConfig, setting } from "./config.ts";

const program = {
  name: "demo",
  summary: "A demo program.",
  settings: {
    brokers: commonSettings.brokers,
    rate: setting({
      flag: "rate",
      env: "DEMO_RATE",
      fallback: "100",
      help: "Events per second.",
      allowed: 'a positive number or "max"',
      schema: z.union([z.literal("max"), parsers.number(Number.MIN_VALUE)]),
    }),
    level: setting({
      flag: "log-level",
      fallback: "info",
      help: "Log level.",
      allowed: "one of debug, info, warn, error",
      schema: parsers.oneOf(["debug", "info", "warn", "error"]),
    }),
    database: setting({
      flag: "database-url",
      env: "DATABASE_URL",
      help: "PostgreSQL URL.",
      allowed: "a postgres:// URL",
      schema: parsers.postgresUrl(),
      secret: true,
    }),
  },
};

const DB = { DATABASE_URL: "postgres://u:p@h/db" };

Deno.test("defaults apply when neither flag nor environment is given", () => {
  const outcome = readConfig(program, { args: [], env: DB });
  assert.equal(outcome.kind, "config");
  if (outcome.kind !== "config") return;
  assert.deepEqual(outcome.config, {
    brokers: ["127.0.0.1:9092"],
    rate: 100,
    level: "info",
    database: "postgres://u:p@h/db",
  });
});

Deno.test("a flag wins over the environment, which wins over the default", () => {
  const fromEnv = readConfig(program, { args: [], env: { ...DB, DEMO_RATE: "5" } });
  assert.equal(fromEnv.kind === "config" && fromEnv.config.rate, 5);
  const fromFlag = readConfig(program, { args: ["--rate", "max"], env: { ...DB, DEMO_RATE: "5" } });
  assert.equal(fromFlag.kind === "config" && fromFlag.config.rate, "max");
  const brokers = readConfig(program, { args: ["--brokers=a:1, b:2"], env: DB });
  assert.deepEqual(brokers.kind === "config" && brokers.config.brokers, ["a:1", "b:2"]);
});

Deno.test("a bad flag value names the flag, the value and what is allowed", () => {
  const outcome = readConfig(program, { args: ["--rate", "fast"], env: DB });
  assert.equal(outcome.kind, "error");
  assert.equal(
    outcome.kind === "error" && outcome.error.message,
    'Cannot read config: "--rate" must be a positive number or "max": current value is "fast"',
  );
  const zero = readConfig(program, { args: ["--rate", "0"], env: DB });
  assert.equal(zero.kind, "error");
});

Deno.test("a bad environment value names the variable", () => {
  const outcome = readConfig(program, { args: [], env: { ...DB, KAFKA_BROKERS: "nohost" } });
  assert.equal(
    outcome.kind === "error" && outcome.error.message,
    'Cannot read config: "KAFKA_BROKERS" must be a comma-separated list of host:port: current value is "nohost"',
  );
});

Deno.test("a secret value is not repeated in the error", () => {
  const outcome = readConfig(program, { args: ["--database-url", "mysql://pw@x"], env: {} });
  assert.equal(outcome.kind, "error");
  assert.doesNotMatch(outcome.kind === "error" ? outcome.error.message : "", /pw/);
});

Deno.test("a missing required setting says where it can be given", () => {
  const outcome = readConfig(program, { args: [], env: {} });
  assert.match(
    outcome.kind === "error" ? outcome.error.message : "",
    /"--database-url" is required: it must be a postgres:\/\/ URL \(flag --database-url or variable DATABASE_URL\)/,
  );
});

Deno.test("an unknown flag is an error that points at --help", () => {
  const outcome = readConfig(program, { args: ["--speed", "3"], env: DB });
  assert.match(outcome.kind === "error" ? outcome.error.message : "", /--speed.*see --help/);
});

Deno.test("--help lists every flag with its variable and default", () => {
  const outcome = readConfig(program, { args: ["--help"], env: {} });
  assert.equal(outcome.kind, "help");
  const text = formatHelp(program);
  for (const flag of ["--brokers", "--rate", "--log-level", "--database-url", "--help"]) {
    assert.ok(text.includes(flag), flag);
  }
  assert.match(text, /env KAFKA_BROKERS, default "127.0.0.1:9092"/);
});
