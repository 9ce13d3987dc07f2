import assert from "node:assert/strict";
import {
  countedSince,
  describeEnd,
  describePlan,
  planDev,
  redactUrl,
  runningClash,
  watcherEvent,
  withDatabase,
} from "./dev_plan.ts";

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

Deno.test("the watcher's lines say when a program started and how it ended", () => {
  assert.deepEqual(watcherEvent("Watcher Process started."), { kind: "started" });
  assert.deepEqual(watcherEvent('Watcher Restarting! File change detected: "/x"'), {
    kind: "started",
  });
  assert.deepEqual(
    watcherEvent("Watcher Process finished with exit code 3. Restarting on file change..."),
    { kind: "ended", code: 3 },
  );
  assert.deepEqual(watcherEvent("Watcher Process finished. Restarting on file change..."), {
    kind: "ended",
    code: 0,
  });
  assert.deepEqual(watcherEvent("Watcher Process failed. Restarting on file change..."), {
    kind: "ended",
    code: 1,
  });
  assert.equal(watcherEvent("Watcher Waiting for graceful termination..."), undefined);
  assert.equal(watcherEvent("INFO producer: Process finished"), undefined);
});

Deno.test("a dead program stops both, loudly; a producer that finished leaves the consumer", () => {
  const died = describeEnd({ name: "consumer", code: 1 }, {
    other: "producer",
    lastLines: ['ERROR consumer failed: database "x" does not exist'],
  });
  assert.equal(died.stopAll, true);
  assert.equal(died.lines[0], "CONSUMER DIED (exit code 1): stopping the producer too");
  assert.ok(died.lines.some((line) => line.includes("does not exist")));
  assert.equal(
    describeEnd({ name: "producer", code: 1 }, { other: "c", lastLines: [] }).stopAll,
    true,
  );
  assert.equal(
    describeEnd({ name: "consumer", code: 0 }, { other: "p", lastLines: [] }).stopAll,
    true,
  );
  const finished = describeEnd({ name: "producer", code: 0 }, { other: "consumer", lastLines: [] });
  assert.equal(finished.stopAll, false);
  assert.match(finished.lines[0], /consumer keeps running/);
});

Deno.test("dev refuses to run beside the compose stack's programs or programs on its ports", () => {
  assert.equal(runningClash({ composeServices: ["kafka", "postgres"], answering: [] }), undefined);
  assert.match(
    runningClash({ composeServices: ["kafka", "consumer"], answering: [] })!,
    /compose stack's consumer is running.*docker compose stop producer consumer/,
  );
  assert.match(
    runningClash({ composeServices: [], answering: [{ name: "producer", port: 9464 }] })!,
    /a producer answers on 127\.0\.0\.1:9464/,
  );
});

Deno.test("only messages past the topic's end at start count as this run's", () => {
  const start = new Map([[0, 100], [1, 50]]);
  assert.equal(countedSince(start, []), 0);
  // A backlog being consumed (below the start offsets) is not this run's.
  assert.equal(countedSince(start, [{ partition: 0, nextOffset: 80 }]), 0);
  assert.equal(
    countedSince(start, [{ partition: 0, nextOffset: 103 }, { partition: 1, nextOffset: 55 }]),
    8,
  );
  // A partition that did not exist at start counts from 0.
  assert.equal(countedSince(start, [{ partition: 2, nextOffset: 4 }]), 4);
});
