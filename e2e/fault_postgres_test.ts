/**
 * PostgreSQL failing under the consumer CLI while events stream in. First its
 * connections are terminated again and again (many in the middle of a flush),
 * then PostgreSQL is unreachable for 30 s: the consumer reaches it through a
 * fault-injecting TCP proxy that refuses connections, so the shared server is
 * never touched. It must recover by itself and count every event once.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { startTcpProxy } from "../testing/tcp_proxy.ts";
import { streamInBackground } from "../testing/fault_topic.ts";
import {
  assertCountsExact,
  createConsumerScene,
  eventMessages,
  freePort,
  httpGet,
  printFigures,
  seededEvents,
  sleep,
  testServices,
  waitUntil,
} from "../testing/mod.ts";

const OUTAGE_MS = 30_000;

Deno.test("PostgreSQL connections terminated mid-transaction again and again, then PostgreSQL unreachable for 30 s: the consumer recovers by itself and counts every event once", async () => {
  const started = performance.now();
  const { databaseUrl } = await testServices();
  await using scene = await createConsumerScene({ name: "fault_pg", partitions: 4 });
  const database = new URL(scene.db.url).pathname.slice(1);
  const server = new URL(scene.db.url);
  await using proxy = startTcpProxy({
    hostname: server.hostname,
    port: Number(server.port || 5432),
  });
  const throughProxy = new URL(scene.db.url);
  throughProxy.port = String(proxy.port);

  // More than the test needs: the stream is stopped once PostgreSQL is back.
  const events = seededEvents({ count: 250_000, seed: 808 });
  const stream = streamInBackground(scene.kafka, scene.topic, eventMessages(events), {
    ratePerSecond: 2_500,
  });
  const metricsPort = freePort();
  await using consumer = scene.spawn({
    "database-url": throughProxy.toString(),
    "metrics-port": metricsPort,
    // Small, frequent flushes keep a statement in flight most of the time.
    "flush-events": 1_000,
    "flush-interval-ms": 20,
    "max-buffer-events": 3_000,
  });
  const committed = scene.committed;
  let exited = false;
  consumer.finished.then(() => exited = true);
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const terminations = { connections: 0, inTransaction: 0, rounds: 0 };
  const outage = { readyzRefused: 0, healthzOk: 0, probes: 0, recoveryMs: 0 };
  try {
    await waitUntil("the consumer commits", async () => await committed() > 0);

    // Phase 1: ten times, the consumer's connections are watched every 5 ms and terminated as
    // soon as one is inside a transaction (a flush on the wire); then it must commit again.
    for (let round = 0; round < 10; round++) {
      const deadline = performance.now() + 5_000;
      let caught = false;
      while (!caught && performance.now() < deadline) {
        const killed = await admin`
          SELECT pg_terminate_backend(pid)
          FROM pg_stat_activity
          WHERE datname = ${database} AND application_name = 'activity-consumer'
            AND xact_start IS NOT NULL`;
        caught = killed.length > 0;
        terminations.connections += killed.length;
        terminations.inTransaction += killed.length;
        if (!caught) await sleep(5);
      }
      // Idle ones too: the next flush finds its pooled connection dead.
      const idle = await admin`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ${database} AND application_name = 'activity-consumer'`;
      terminations.connections += idle.length;
      terminations.rounds++;
      const before = await committed();
      await waitUntil("the consumer commits again", async () => await committed() > before);
    }
    assert.ok(terminations.inTransaction >= 5, `${terminations.inTransaction} mid-transaction`);

    // Phase 2: PostgreSQL unreachable for 30 s (connections refused, open ones cut).
    proxy.refuse();
    const outageStart = performance.now();
    // A flush already past PostgreSQL's reply may still land until the server has ended every
    // session of the consumer (the proxy cut them); after that nothing of it can commit.
    await waitUntil("PostgreSQL has ended the consumer's sessions", async () => {
      const [row] = await admin`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = ${database} AND application_name = 'activity-consumer'`;
      return row.n === 0;
    }, { timeoutMs: 10_000 });
    const frozen = await committed();
    while (performance.now() - outageStart < OUTAGE_MS) {
      const [ready, live] = await Promise.all([
        httpGet(metricsPort, "/readyz"),
        httpGet(metricsPort, "/healthz"),
      ]);
      outage.probes++;
      if (ready?.status === 503) outage.readyzRefused++;
      if (live?.status === 200) outage.healthzOk++;
      await sleep(1_000);
    }
    assert.equal(await committed(), frozen, "nothing was committed while PostgreSQL was away");
    assert.equal(exited, false, "the consumer exited while PostgreSQL was away");
    proxy.accept();
    const back = performance.now();
    await waitUntil("the consumer commits after PostgreSQL is back", async () => {
      return await committed() > frozen;
    }, { timeoutMs: 30_000 });
    outage.recoveryMs = Math.round(performance.now() - back);
    assert.equal(
      outage.readyzRefused,
      outage.probes,
      "/readyz said ready while PostgreSQL was away",
    );
    assert.equal(outage.healthzOk, outage.probes, "/healthz failed while PostgreSQL was away");

    const publishedCount = await stream.stop();
    await waitUntil("every event is committed", async () => await committed() >= publishedCount, {
      timeoutMs: 90_000,
    });
    consumer.kill("SIGTERM");
    const { code, stderr } = await consumer.finished;
    assert.equal(code, 0, stderr.slice(-2_000));
  } finally {
    await admin.end();
    await stream.stop().catch(() => {});
  }
  const published = events.slice(0, await stream.done);
  const compared = await assertCountsExact(scene.db.sql, published);
  assert.equal(await committed(), published.length);
  printFigures("fault_postgres", {
    termination_rounds: terminations.rounds,
    connections_terminated: terminations.connections,
    terminated_mid_transaction: terminations.inTransaction,
    outage_s: OUTAGE_MS / 1000,
    readyz_503_during_outage: `${outage.readyzRefused}/${outage.probes}`,
    recovered_after_ms: outage.recoveryMs,
    events: published.length,
    events_compared: compared.events,
    rows_compared: compared.rows,
    lost: 0,
    doubled: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
