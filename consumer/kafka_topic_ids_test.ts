import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { testServices, uniqueName } from "../testing/services.ts";
import { waitUntil } from "../testing/pipeline_events.ts";
import { freePort } from "../testing/fault_processes.ts";
import { defaultKafkaOptions, runningKafkaPid } from "../tools/kafka_local.ts";
import { fetchTopicIds, type TopicIdEntry, TopicIdLookupError } from "./kafka_topic_ids.ts";
import { uuidText } from "./kafka_wire.ts";

async function idsOf(
  brokers: readonly string[],
  topics: string[],
): Promise<Map<string, TopicIdEntry>> {
  const lookup = await fetchTopicIds(brokers, topics, { timeoutMs: 10_000 });
  assert.equal(lookup.kind, "ids", JSON.stringify(lookup));
  return lookup.kind === "ids" ? lookup.topics : new Map();
}

async function withAdmin<T>(kafka: Kafka, work: (admin: ReturnType<Kafka["admin"]>) => Promise<T>) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Runs `work` with a topic of the test's own, which is deleted afterwards. */
async function withOwnTopic(
  prefix: string,
  partitions: number,
  work: (context: { brokers: string[]; kafka: Kafka; topic: string }) => Promise<void>,
): Promise<void> {
  const { brokers } = await testServices();
  const kafka = createKafka({ brokers, clientId: "topic-ids-test" });
  const topic = uniqueName(prefix);
  await ensureTopics(kafka, [{ topic, partitions }]);
  try {
    await work({ brokers, kafka, topic });
  } finally {
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
  }
}

/** The log dir of the local broker from tools/kafka_local.ts, when the tests run against it. */
async function localLogDir(brokers: readonly string[]): Promise<string | undefined> {
  const match = brokers.length === 1 ? /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(brokers[0]) : null;
  if (!match) return undefined;
  const options = { ...defaultKafkaOptions(), port: Number(match[1]) };
  if (!await runningKafkaPid(options)) return undefined;
  return `${options.cacheDir}/kafka-data-${options.port}`;
}

/** The topic id in `<dir>/partition.metadata` (`topic_id: <base64url>`), once Kafka flushed it. */
async function idInPartitionMetadata(dir: string): Promise<string> {
  let text = "";
  await waitUntil(`${dir}/partition.metadata names a topic id`, async () => {
    text = await Deno.readTextFile(`${dir}/partition.metadata`).catch(() => "");
    return /^topic_id: \S+$/m.test(text);
  }, { timeoutMs: 15_000 });
  const base64url = /^topic_id: (\S+)$/m.exec(text)![1];
  const base64 = base64url.replaceAll("-", "+").replaceAll("_", "/").padEnd(24, "=");
  return uuidText(Uint8Array.from(atob(base64), (char) => char.charCodeAt(0)));
}

Deno.test("a topic's id is the same on every lookup and is the id the broker wrote in its log dir", async () => {
  await withOwnTopic("topic_ids", 3, async ({ brokers, topic }) => {
    const first = (await idsOf(brokers, [topic])).get(topic)!;
    assert.equal(first.errorCode, 0);
    assert.equal(first.partitions, 3);
    assert.match(first.id ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    for (let again = 0; again < 3; again++) {
      assert.deepEqual((await idsOf(brokers, [topic, topic])).get(topic), first);
    }
    const logDir = await localLogDir(brokers);
    if (logDir === undefined) {
      console.warn(
        `Skipped comparing with partition.metadata: the brokers ${JSON.stringify(brokers)} are ` +
          "not the single local broker of tools/kafka_local.ts, so their log dirs are not here.",
      );
      return;
    }
    for (const partition of [0, 1, 2]) {
      assert.equal(await idInPartitionMetadata(`${logDir}/${topic}-${partition}`), first.id);
    }
  });
});

Deno.test("a topic deleted and created again under the same name gets a new id", async () => {
  await withOwnTopic("topic_ids_recreated", 2, async ({ brokers, kafka, topic }) => {
    const before = (await idsOf(brokers, [topic])).get(topic)!;
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
    await waitUntil("the deleted topic is gone", async () => {
      return (await idsOf(brokers, [topic])).get(topic)?.errorCode === 3;
    }, { timeoutMs: 30_000 });
    // The broker may still be removing the old topic; creating answers "exists" until it is done.
    await waitUntil(
      "the topic is created again",
      () =>
        withAdmin(
          kafka,
          (admin) =>
            admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4 }] }),
        ),
      {
        timeoutMs: 30_000,
      },
    );
    const after = (await idsOf(brokers, [topic])).get(topic)!;
    assert.equal(after.errorCode, 0);
    assert.equal(after.partitions, 4);
    assert.notEqual(after.id, null);
    assert.notEqual(after.id, before.id);
    assert.deepEqual((await idsOf(brokers, [topic])).get(topic), after);
  });
});

Deno.test("a missing topic gives error code 3 and no id, and an invalid name error code 17", async () => {
  const { brokers } = await testServices();
  const missing = uniqueName("topic_ids_missing");
  const invalid = `${missing} with spaces!`;
  const topics = await idsOf(brokers, [missing, invalid]);
  assert.deepEqual(topics.get(missing), { id: null, partitions: 0, errorCode: 3 });
  assert.deepEqual(topics.get(invalid), { id: null, partitions: 0, errorCode: 17 });
  assert.deepEqual((await idsOf(brokers, [missing])).get(missing)?.errorCode, 3);
});

Deno.test("an answer larger than one socket read (2 000 topics, about half a megabyte) is read whole", async () => {
  const { brokers } = await testServices();
  const prefix = uniqueName("topic_ids_many");
  const names = Array.from({ length: 2_000 }, (_, index) => `${prefix}_${index}`.padEnd(240, "x"));
  const topics = await idsOf(brokers, names);
  assert.equal(topics.size, 2_000);
  for (const name of names) {
    assert.deepEqual(topics.get(name), { id: null, partitions: 0, errorCode: 3 });
  }
});

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** A TCP server for fault tests; disposing it closes every connection and waits for handlers. */
function startServer(onConnection: (conn: Deno.TcpConn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      conns.add(conn);
      handlers.push(
        onConnection(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          closeQuietly(conn);
        }),
      );
    }
  })();
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    accepted: () => accepted,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      conns.forEach(closeQuietly);
      await Promise.all(handlers);
    },
  };
}

/** Holds a connection open and reads what arrives, never answering. */
async function silent(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1_024);
  while (await conn.read(buffer) !== null) { /* never answers */ }
}

/** Forwards to the real broker, but hands its answers back three bytes at a time. */
function dribblingProxy(broker: string) {
  const [hostname, port] = broker.split(":");
  return startServer(async (client) => {
    const server = await Deno.connect({ hostname, port: Number(port) });
    const upstream = (async () => {
      const buffer = new Uint8Array(64 * 1024);
      for (let read; (read = await client.read(buffer)) !== null;) {
        await server.write(buffer.subarray(0, read));
      }
    })().catch(() => {}).finally(() => closeQuietly(server));
    try {
      const buffer = new Uint8Array(64 * 1024);
      for (let read; (read = await server.read(buffer)) !== null;) {
        for (let start = 0; start < read; start += 3) {
          await client.write(buffer.subarray(start, Math.min(start + 3, read)));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    } finally {
      closeQuietly(client);
      await upstream;
    }
  });
}

Deno.test("an answer that arrives three bytes at a time is still read whole", async () => {
  const { brokers } = await testServices();
  const direct = await idsOf(brokers, ["__consumer_offsets"]);
  await using proxy = dribblingProxy(brokers[0]);
  assert.deepEqual(await idsOf([proxy.address], ["__consumer_offsets"]), direct);
});

function closedPort(): string {
  return `127.0.0.1:${freePort()}`;
}

Deno.test("unreachable brokers fail with TopicIdLookupError naming each one and why", async () => {
  const [first, second] = [closedPort(), closedPort()];
  await using quiet = startServer(silent);
  const started = Date.now();
  const error = await fetchTopicIds([first, quiet.address, second], ["t"], { timeoutMs: 1_500 })
    .catch((error) => error);
  const elapsed = Date.now() - started;
  assert.ok(error instanceof TopicIdLookupError, String(error));
  assert.match(
    error.message,
    /^Cannot look up the ids of topics \["t"\]: no broker answered within 1500 ms/,
  );
  assert.ok(error.message.includes(`${first}: refused the connection`), error.message);
  assert.match(
    error.message,
    new RegExp(
      `${quiet.address}: did not answer within \\d+ ms \\(waiting for the ApiVersions response \\(0 of \\? bytes\\)\\)`,
    ),
  );
  assert.ok(error.message.includes(`${second}: refused the connection`), error.message);
  assert.ok(elapsed < 1_500 + 1_000, `took ${elapsed} ms`);
});

Deno.test("a silent first broker leaves time for a working second one", async () => {
  const { brokers } = await testServices();
  await using quiet = startServer(silent);
  const lookup = await fetchTopicIds([quiet.address, ...brokers], ["__consumer_offsets"], {
    timeoutMs: 4_000,
  });
  assert.equal(lookup.kind, "ids");
  assert.equal(quiet.accepted(), 1);
});

Deno.test("a server that answers with nonsense is reported as malformed, not trusted", async () => {
  await using huge = startServer(async (conn) => {
    await conn.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1));
    await silent(conn);
  });
  await using cut = startServer(async (conn) => {
    await conn.write(Uint8Array.of(0, 0, 0, 100, 0, 0, 0, 1));
    conn.close();
  });
  const error = await fetchTopicIds([huge.address, cut.address], ["t"], { timeoutMs: 5_000 })
    .catch((error) => error);
  assert.ok(error instanceof TopicIdLookupError, String(error));
  assert.ok(
    error.message.includes(
      `${huge.address}: malformed response: response size 2147483647 is outside the accepted 4 to 16777216 bytes`,
    ),
    error.message,
  );
  assert.ok(
    error.message.includes(
      `${cut.address}: Error: closed the connection after 8 bytes while waiting for the ApiVersions response`,
    ),
    error.message,
  );
});

Deno.test("an abort signal ends a lookup promptly, and an aborted one never connects", async () => {
  await using quiet = startServer(silent);
  const controller = new AbortController();
  const started = Date.now();
  const pending = fetchTopicIds([quiet.address], ["t"], {
    timeoutMs: 60_000,
    signal: controller.signal,
  }).catch((error) => error);
  await waitUntil("the lookup connected", () => Promise.resolve(quiet.accepted() === 1));
  const reason = new Error("shutting down");
  controller.abort(reason);
  const error = await pending;
  assert.ok(error instanceof TopicIdLookupError, String(error));
  assert.match(error.message, /: aborted \(Error: shutting down\)$/);
  assert.equal(error.cause, reason);
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  const again = await fetchTopicIds([quiet.address], ["t"], { signal: controller.signal })
    .catch((error) => error);
  assert.ok(again instanceof TopicIdLookupError);
  assert.equal(quiet.accepted(), 1);
});

Deno.test("bad arguments are refused before any connection, quoting the value", async () => {
  const refusal = (brokers: string[], options = {}) =>
    fetchTopicIds(brokers, ["t"], options).catch((error) => error);
  assert.match((await refusal(["localhost"])).message, /"host:port".*current value is "localhost"/);
  assert.match((await refusal(["h:0"])).message, /current value is "h:0"/);
  assert.match((await refusal([])).message, /the broker list is empty/);
  assert.match((await refusal(["h:1"], { timeoutMs: 0 })).message, /positive number: got 0/);
  assert.ok((await refusal(["h:99999"])) instanceof TopicIdLookupError);
  const longName = await fetchTopicIds(["h:1"], ["x".repeat(40_000)]).catch((error) => error);
  assert.match(longName.message, /at most 32767 UTF-8 bytes: current value has 40000 characters/);
  const many = await fetchTopicIds(["h:1"], ["a", "b", "c", "d", "e", "f", "g"], {
    clientId: "é".repeat(20_000),
  })
    .catch((error) => error);
  assert.match(
    many.message,
    /^Cannot look up the ids of topics "a", "b", "c", "d", "e" and 2 more: /,
  );
});
