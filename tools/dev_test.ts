/**
 * `deno task dev` for real: both programs from source with --watch, against
 * the test broker and a database of the test's own, until events are counted
 * in PostgreSQL; then Ctrl-C (SIGINT) stops everything cleanly.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "./compile.ts";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";

const DEADLINE_MS = 60_000;

Deno.test("deno task dev brings events into PostgreSQL within seconds and stops on Ctrl-C", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("dev");
  const topic = uniqueName("dev");
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "tools/dev.ts"],
    cwd: REPO_ROOT,
    env: {
      KAFKA_BROKERS: brokers.join(","),
      DATABASE_URL: db.url,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      CONSUMER_GROUP: uniqueName("dev_group"),
      // Metrics off: other programs on this machine may hold the default ports.
      PRODUCER_METRICS_PORT: "0",
      CONSUMER_METRICS_PORT: "0",
      ACTIVITY_NO_DOCKER: "1",
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const output = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let counted = 0;
  let firstCountedMs = 0;
  try {
    // Until the events are in the database (checked here) and dev has said so too.
    while (performance.now() - started < DEADLINE_MS) {
      if (counted === 0) {
        const [row] = await db.sql`SELECT coalesce(sum(event_count), 0)::bigint AS n
          FROM user_event_summary`.catch(() => [{ n: 0 }]);
        counted = Number(row.n);
        if (counted > 0) firstCountedMs = performance.now() - started;
      }
      if (counted > 0 && /events are in PostgreSQL/.test(text)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    try {
      child.kill("SIGINT");
    } catch {
      // dev already ended; its output says why
    }
  }
  const status = await child.status;
  await output;
  assert.ok(counted > 0, `no events counted within ${DEADLINE_MS / 1000} s; dev said:\n${text}`);
  console.log(`deno task dev: first events counted after ${(firstCountedMs / 1000).toFixed(1)} s`);
  assert.equal(status.code, 0, text);
  assert.match(text, /dev +\| Kafka .*from the environment/);
  assert.match(text, /dev +\| events are in PostgreSQL: \d+ new counted, [\d.]+ s after start/);
  assert.match(text, /producer +\| /);
  assert.match(text, /consumer +\| /);
  assert.match(text, /SIGINT: stopping the programs/);
  // Both programs ran under the watcher, which restarts them when files change.
  assert.equal(text.match(/Watcher Process started/g)?.length, 2, text);
});
