/**
 * `deno task dev` for real: both programs from source with --watch, against
 * the test broker and a database of the test's own. One Ctrl-C (SIGINT) stops
 * both cleanly with the producer's summary; a program that dies stops both,
 * loudly; dev refuses to start next to programs that are already running;
 * the first-events line counts only this run's messages, not a backlog.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "./compile.ts";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import { finish, spawnProducer } from "../testing/producer_topic.ts";

const DEADLINE_MS = 60_000;

/** Starts dev with `env` (and the test's own topic and group); collects everything it prints. */
function startDev(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev"],
    cwd: REPO_ROOT,
    env: {
      // Metrics off: other programs on this machine may hold the default ports.
      PRODUCER_METRICS_PORT: "0",
      CONSUMER_METRICS_PORT: "0",
      ACTIVITY_NO_DOCKER: "1",
      NO_COLOR: "1",
      ...env,
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
  return {
    child,
    text: () => text,
    async finished() {
      const status = await child.status;
      await output;
      return { code: status.code, text };
    },
  };
}

async function testTarget(prefix: string) {
  const { brokers } = await testServices();
  const topic = uniqueName(prefix);
  return {
    KAFKA_BROKERS: brokers.join(","),
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    CONSUMER_GROUP: uniqueName(`${prefix}_group`),
  };
}

Deno.test("deno task dev counts only this run's events and one Ctrl-C stops both with the producer's summary", async () => {
  await using db = await createTestDatabase("dev");
  const target = await testTarget("dev");
  // A backlog left by an earlier run, in the same topic.
  const backlog = await finish(spawnProducer([
    `--brokers=${target.KAFKA_BROKERS}`,
    `--topic=${target.KAFKA_TOPIC}`,
    "--count=300",
    "--rate=max",
    "--metrics-port=0",
  ]));
  assert.equal(backlog.code, 0, backlog.stderr);
  const started = performance.now();
  const dev = startDev({ ...target, DATABASE_URL: db.url, PRODUCER_RATE: "50" });
  try {
    while (performance.now() - started < DEADLINE_MS) {
      if (/events are in PostgreSQL/.test(dev.text())) break;
      if (/exited|DIED/.test(dev.text())) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    try {
      dev.child.kill("SIGINT");
    } catch {
      // dev already ended; its output says why
    }
  }
  const { code, text } = await dev.finished();
  const line = /dev +\| events are in PostgreSQL: (\d+) messages of this run counted, ([\d.]+) s/
    .exec(text);
  assert.ok(line, `no first-events line within ${DEADLINE_MS / 1000} s; dev said:\n${text}`);
  console.log(`deno task dev: first events of this run counted after ${line[2]} s`);
  // The backlog was consumed too, but is not in the line's count.
  const [stored] = await db.sql`SELECT sum(next_offset)::int AS n FROM consumer_offsets
    WHERE topic = ${target.KAFKA_TOPIC}`;
  assert.ok(stored.n >= 300 + Number(line[1]), `${stored.n} stored, line said ${line[1]}`);
  assert.ok(Number(line[1]) < stored.n, "the backlog was counted as this run's");
  assert.equal(code, 0, text);
  assert.match(text, /dev +\| Kafka .*from the environment/);
  assert.match(text, /SIGINT: stopping the programs/);
  // One signal reached the producer: a clean stop with its summary, never "stop at once".
  assert.match(text, /producer +\| .*summary/);
  assert.doesNotMatch(text, /stopping at once/);
  assert.match(text, /consumer +\| .*stopped consuming/);
  // Both programs ran under the watcher, which restarts them when files change.
  assert.equal(text.match(/Watcher Process started/g)?.length, 2, text);
});

Deno.test("when the consumer dies, dev says so loudly with its last lines and stops the producer too", async () => {
  await using db = await createTestDatabase("dev_dies");
  const target = await testTarget("dev_dies");
  const dev = startDev({ ...target, DATABASE_URL: db.url, CONSUMER_FLUSH_EVENTS: "none" });
  const timer = setTimeout(() => dev.child.kill("SIGKILL"), DEADLINE_MS);
  const { code, text } = await dev.finished();
  clearTimeout(timer);
  assert.equal(code, 2, text);
  assert.match(text, /dev +\| CONSUMER DIED \(exit code 2\): stopping the producer too/);
  assert.match(text, /dev +\| {3}.*CONSUMER_FLUSH_EVENTS.*"none"/);
  // Both are gone: dev waited for the producer's stop before saying so.
  assert.match(text, /dev +\| stopped\n?$/);
});

Deno.test("dev refuses to start while the compose stack's programs run, naming the command that stops them", async () => {
  const bin = await Deno.makeTempDir({ prefix: "fake_docker_" });
  try {
    // A stand-in for the docker CLI: an engine with compose whose producer and consumer run.
    await Deno.writeTextFile(
      `${bin}/docker`,
      '#!/bin/sh\ncase "$*" in\n  "compose ps --status running --services") ' +
        'printf "kafka\\nproducer\\nconsumer\\n" ;;\n  *) echo 28.0.0 ;;\nesac\n',
    );
    await Deno.chmod(`${bin}/docker`, 0o755);
    const dev = startDev({
      ...await testTarget("dev_clash"),
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
      ACTIVITY_NO_DOCKER: "",
      PATH: `${bin}:${Deno.env.get("PATH")}`,
    });
    const { code, text } = await dev.finished();
    assert.equal(code, 1, text);
    assert.match(text, /compose stack's producer and consumer are running/);
    assert.match(text, /docker compose stop producer consumer/);
    assert.doesNotMatch(text, /producer +\|/);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("dev refuses to start while a producer already answers on its metrics port", async () => {
  const other = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("ok\n"),
  );
  try {
    const dev = startDev({
      ...await testTarget("dev_port"),
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/unused",
      PRODUCER_METRICS_PORT: String(other.addr.port),
    });
    const { code, text } = await dev.finished();
    assert.equal(code, 1, text);
    assert.match(text, new RegExp(`a producer answers on 127\\.0\\.0\\.1:${other.addr.port}`));
  } finally {
    await other.shutdown();
  }
});
