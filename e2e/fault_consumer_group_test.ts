/**
 * Issue 8: three consumer CLIs in one group while the producer CLI publishes;
 * members leave (SIGTERM), are killed (SIGKILL) and join mid-stream; the
 * counts are then compared with counts computed from the topic read back.
 */
import assert from "node:assert/strict";
import { createKafka } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import { committedMessages, waitUntil } from "../testing/pipeline_events.ts";
import { type ConsumerProcess, spawnConsumerProcess } from "../testing/consumer_fixture.ts";
import { summaryOf, watchProducer } from "../testing/producer_topic.ts";
import {
  assertCountsExact,
  eventsOf,
  readTopicBack,
  topicMessageCount,
} from "../testing/fault_topic.ts";
import { exitOf, faultConsumerFlags } from "../testing/fault_processes.ts";
import { printFigures } from "../testing/fault_figures.ts";

const EVENTS = 100_000;

Deno.test("three consumers in one group, members leaving, being killed and joining mid-stream, count every event exactly once", async () => {
  const started = performance.now();
  const { brokers } = await testServices();
  await using db = await createTestDatabase("fault_group");
  const topic = uniqueName("fault_group");
  const group = uniqueName("fault_group_group");
  const kafka = createKafka({ brokers, clientId: "fault-group-test" });
  const producer = watchProducer([
    "--brokers",
    brokers.join(","),
    "--topic",
    topic,
    "--partitions",
    "6",
    "--rate",
    "4000",
    "--count",
    String(EVENTS),
    "--seed",
    "77",
    "--metrics-port",
    "0",
    "--progress-interval",
    "2s",
  ]);
  const flags = faultConsumerFlags({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
  });
  const committed = () => committedMessages(db.sql, group, topic);
  const reach = (n: number) =>
    waitUntil(`${n} events are committed`, async () => await committed() >= n, {
      timeoutMs: 90_000,
    });
  const members = new Map<string, ConsumerProcess>();
  const counts = { joins: 0, leaves: 0, kills: 0 };
  const join = (name: string) => {
    members.set(name, spawnConsumerProcess(flags));
    counts.joins++;
  };
  const leave = async (name: string) => {
    const member = members.get(name)!;
    members.delete(name);
    member.kill("SIGTERM");
    const { code, stderr } = await member.finished;
    assert.equal(code, 0, `${name} did not leave cleanly:\n${stderr.slice(-2_000)}`);
    counts.leaves++;
  };
  const kill = async (name: string) => {
    const member = members.get(name)!;
    members.delete(name);
    member.kill("SIGKILL");
    const { signal, stderr } = await member.finished;
    assert.equal(signal, "SIGKILL", `${name} exited by itself:\n${stderr.slice(-2_000)}`);
    counts.kills++;
  };

  let producerRun;
  let midStream = { ...counts };
  try {
    await producer.waitFor((line) => line.msg === "publishing");
    join("a");
    join("b");
    join("c");
    await reach(10_000);
    await leave("b");
    await reach(25_000);
    await kill("c");
    join("d");
    await reach(45_000);
    join("b2");
    await leave("a");
    await reach(65_000);
    await kill("d");
    join("e");
    await reach(80_000);
    join("f");
    producerRun = await producer.waitFor((line) => line.msg === "summary", 90_000)
      .then(() => exitOf(producer));
    const total = await topicMessageCount(kafka, topic);
    await reach(total);
    midStream = { ...counts };
    for (const name of [...members.keys()]) await leave(name);
  } finally {
    for (const member of members.values()) await member[Symbol.asyncDispose]();
    await producer.stop("SIGKILL");
  }
  assert.equal(producerRun.code, 0, producerRun.stderr.slice(-2_000));
  assert.equal(summaryOf(producerRun).sent, EVENTS);

  const messages = await readTopicBack(brokers, topic);
  assert.equal(messages.length, EVENTS);
  const compared = await assertCountsExact(db.sql, eventsOf(messages));
  assert.equal(await committed(), EVENTS);
  printFigures("fault_consumer_group", {
    members_at_most: 3,
    joins: midStream.joins,
    leaves_mid_stream: midStream.leaves,
    kills_mid_stream: midStream.kills,
    events: EVENTS,
    events_compared: compared.events,
    rows_compared: compared.rows,
    lost: 0,
    doubled: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
