import assert from "node:assert/strict";
import { describePlan, planDev, redactUrl, withDatabase } from "./dev_plan.ts";

Deno.test("with both variables set, dev uses them and starts no container", () => {
  const env = { KAFKA_BROKERS: "k:9092", DATABASE_URL: "postgres://u@h/db" };
  for (const dockerAvailable of [true, false]) {
    assert.deepEqual(planDev(env, { dockerAvailable }), {
      kafka: "env",
      postgres: "env",
      containers: [],
    });
  }
});

Deno.test("with neither set, dev starts kafka, postgres and grafana containers where Docker runs", () => {
  assert.deepEqual(planDev({}, { dockerAvailable: true }), {
    kafka: "docker",
    postgres: "docker",
    containers: ["kafka", "postgres", "grafana"],
  });
});

Deno.test("with neither set and no Docker, dev uses the local services", () => {
  assert.deepEqual(planDev({}, { dockerAvailable: false }), {
    kafka: "local",
    postgres: "local",
    containers: [],
  });
});

Deno.test("a single variable set replaces only its own service", () => {
  assert.deepEqual(planDev({ KAFKA_BROKERS: "k:9092" }, { dockerAvailable: true }), {
    kafka: "env",
    postgres: "docker",
    containers: ["postgres", "grafana"],
  });
  assert.deepEqual(planDev({ DATABASE_URL: "postgres://x" }, { dockerAvailable: true }), {
    kafka: "docker",
    postgres: "env",
    containers: ["kafka"],
  });
  assert.deepEqual(planDev({ KAFKA_BROKERS: "" }, { dockerAvailable: false }).kafka, "local");
});

Deno.test("the banner names each service's origin and hides passwords", () => {
  const lines = describePlan(planDev({}, { dockerAvailable: false }), {
    brokers: "127.0.0.1:9092",
    databaseUrl: "postgres://writer:s3cret@127.0.0.1:5432/activity",
  });
  assert.equal(lines.length, 2);
  assert.match(lines[0], /127\.0\.0\.1:9092 .*local service/);
  assert.match(lines[1], /writer:\*\*\*@127\.0\.0\.1:5432\/activity/);
  assert.doesNotMatch(lines.join("\n"), /s3cret/);
  assert.equal(redactUrl("postgres://u@h/db"), "postgres://u@h/db");
  assert.equal(
    withDatabase("postgres://u@h:5432/postgres", "activity"),
    "postgres://u@h:5432/activity",
  );
});
