/**
 * What an operator sees when something around the consumer is wrong: an
 * unreachable PostgreSQL, a topic that does not exist, a metrics port already
 * taken, an impatient second Ctrl-C. Every case says what is wrong, at a calm
 * pace, in lines that are all JSON in JSON mode; nothing waits silently.
 */
import assert from "node:assert/strict";
import {
  cliArgs,
  createConsumerScene,
  createTestDatabase,
  eventMessages,
  exitWithin,
  faultConsumerFlags,
  freePort,
  httpGet,
  printFigures,
  publishRaw,
  scrapeMetrics,
  seededEvents,
  sleep,
  spawnConsumerProcess,
  startConsumerRun,
  testServices,
  uniqueName,
  waitUntil,
} from "../testing/mod.ts";
import { startProducerCli } from "../testing/producer_topic.ts";

/** Every stderr line, parsed: a line that is not JSON fails the test. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`a log line is not JSON: ${line}`);
    }
  });
}

Deno.test("an unreachable PostgreSQL is said at once, with the password hidden, and a stop is prompt", async () => {
  const { brokers } = await testServices();
  const closed = freePort();
  const password = crypto.randomUUID(); // made here, so it can be looked for in the log
  const databaseUrl = `postgres://writer:${password}@127.0.0.1:${closed}/activity`;
  const startedAt = Date.now();
  const consumer = spawnConsumerProcess(faultConsumerFlags({
    brokers: brokers.join(","),
    topic: uniqueName("no_db"),
    "database-url": databaseUrl,
    "log-level": "info",
  }));
  await sleep(4_000);
  const stoppedAt = Date.now();
  const watchedS = (stoppedAt - startedAt) / 1000;
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  const stopMs = Date.now() - stoppedAt;
  const lines = jsonLines(stderr);
  const connecting = lines.find((line) => line.msg === "connecting to PostgreSQL");
  assert.equal(connecting?.database, databaseUrl.replace(password, "***"));
  assert.ok(!stderr.includes(password), "the password never appears");
  const waiting = lines.filter((line) =>
    String(line.msg).startsWith("PostgreSQL is not reachable")
  );
  assert.ok(
    waiting.length >= 1 && waiting.length <= 2,
    `calm: ${waiting.length} lines in ${watchedS.toFixed(1)} s`,
  );
  assert.equal(code, 0);
  assert.ok(stopMs < 3_000, `stopped in ${stopMs} ms`);
  printFigures("operator_no_database", {
    stop_ms: stopMs,
    watched_s: watchedS,
    waiting_lines: waiting.length,
  });
});

Deno.test("a topic that does not exist is said, calmly, and /readyz says why it is not ready", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("no_topic");
  const port = freePort();
  const topic = uniqueName("no_topic");
  await using consumer = spawnConsumerProcess(faultConsumerFlags({
    brokers: brokers.join(","),
    topic,
    "database-url": db.url,
    "metrics-port": port,
    "log-level": "info",
  }));
  let ready: { status: number; body: string } | undefined;
  await waitUntil("/readyz answers", async () => {
    ready = await httpGet(port, "/readyz");
    return ready !== undefined && ready.body.includes("does not exist");
  }, { timeoutMs: 30_000 });
  await sleep(2_000);
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  assert.equal(ready?.status, 503);
  assert.equal(
    ready?.body,
    `not ready: topic "${topic}" does not exist yet (the producer creates it)\n`,
  );
  const waiting = jsonLines(stderr).filter((line) => String(line.msg).startsWith("waiting: topic"));
  assert.equal(waiting.length, 1, "said once, then every 15 s");
  assert.equal(code, 0);
});

Deno.test("a metrics port already in use stops either program with exit 2, naming the port and the setting", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("busy_port");
  const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const topic = uniqueName("busy_port");
    const consumer = await exitWithin(
      spawnConsumerProcess(faultConsumerFlags({
        brokers: brokers.join(","),
        topic,
        "database-url": db.url,
        "metrics-port": port,
      })),
      60_000,
    );
    assert.equal(consumer.code, 2, consumer.stderr);
    const said = jsonLines(consumer.stderr).map((line) => String(line.msg)).join("\n");
    assert.match(said, new RegExp(`port ${port} is already in use`));
    assert.match(said, /--metrics-port \(CONSUMER_METRICS_PORT\)/);
    const producer = await exitWithin(
      startProducerCli(cliArgs({
        brokers: brokers.join(","),
        topic,
        count: 1,
        "metrics-port": port,
      })),
      60_000,
    );
    assert.equal(producer.code, 2);
    assert.match(producer.stderr, new RegExp(`port ${port} is already in use`));
    assert.match(producer.stderr, /--metrics-port \(PRODUCER_METRICS_PORT\)/);
  } finally {
    listener.close();
  }
});

Deno.test("the ready gauge is kept current without anyone asking /readyz", async () => {
  await using scene = await createConsumerScene({ name: "ready_gauge", partitions: 1 });
  const port = freePort();
  const consumer = scene.start({ "metrics-port": port }, { run: { progressIntervalMs: 100 } });
  try {
    await waitUntil("Prometheus sees the consumer ready", async () => {
      return /^activity_consumer_ready 1$/m.test(await scrapeMetrics(port) ?? "");
    }, { timeoutMs: 20_000 });
  } finally {
    await consumer.stop();
  }
});

Deno.test("a client that holds a request to the health server open does not hold up a stop past its budget", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("held_health");
  const port = freePort();
  await using consumer = spawnConsumerProcess(faultConsumerFlags({
    brokers: brokers.join(","),
    topic: uniqueName("held_health"),
    "database-url": db.url,
    "metrics-port": port,
  }));
  await waitUntil(
    "/healthz answers",
    async () => (await httpGet(port, "/healthz"))?.status === 200,
    {
      timeoutMs: 30_000,
    },
  );
  // A request whose body never comes: a graceful shutdown of the server waits for it.
  const held = await Deno.connect({ port });
  try {
    await held.write(
      new TextEncoder().encode("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{"),
    );
    await held.read(new Uint8Array(1024)); // answered: the server now waits for the body
    const stoppedAt = Date.now();
    consumer.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      consumer.finished,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 8_000)),
    ]);
    clearTimeout(timer);
    const stopMs = Date.now() - stoppedAt;
    assert.ok(finished, `still stopping ${stopMs} ms after SIGTERM`);
    assert.equal(finished.code, 0, finished.stderr.slice(-1_000));
    assert.ok(stopMs < 4_000, `stopped in ${stopMs} ms`);
    assert.match(finished.stderr, /the health server did not close within 1000 ms/);
    printFigures("operator_held_health_server", { stop_ms: stopMs });
  } finally {
    held.close();
  }
});

Deno.test("a second SIGTERM makes a consumer whose last flush hangs leave at once", async () => {
  await using run = await startConsumerRun({
    name: "second_signal",
    partitions: 1,
    flags: { "flush-timeout-ms": 60_000 },
  });
  const release = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  await waitUntil("the consumer's tables exist", async () => {
    const [row] = await run.db.sql`SELECT to_regclass('user_event_summary') IS NOT NULL AS ok`;
    return row.ok;
  });
  const lock = run.db.sql.begin(async (tx) => {
    await tx`LOCK TABLE user_event_summary IN EXCLUSIVE MODE`;
    locked.resolve();
    await release.promise;
  });
  try {
    // The lock's own failure ends the wait too.
    await Promise.race([locked.promise, lock]);
    await publishRaw(run.kafka, run.topic, eventMessages(seededEvents({ count: 50, seed: 63 })));
    await waitUntil("a flush hangs on the lock", async () => {
      const [row] = await run.db.sql`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND application_name = 'activity-consumer'`;
      return row.n > 0;
    });
    run.consumer.kill("SIGTERM");
    await sleep(500);
    const secondAt = Date.now();
    run.consumer.kill("SIGTERM");
    const { code, stderr } = await run.consumer.finished;
    const leftMs = Date.now() - secondAt;
    assert.equal(code, 130, stderr.slice(-1_000));
    assert.ok(leftMs < 1_500, `left ${leftMs} ms after the second signal`);
    const lines = jsonLines(stderr);
    assert.ok(lines.some((line) => String(line.msg).startsWith("second signal: leaving at once")));
    printFigures("operator_second_signal", { exit: code, left_ms: leftMs });
  } finally {
    release.resolve();
    await lock;
  }
});
