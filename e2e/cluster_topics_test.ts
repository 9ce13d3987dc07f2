/**
 * The topics the programs create are replicated as the cluster
 * allows. On three brokers the producer's topic and the consumer's
 * dead-letter topic get three replicas and min.insync.replicas 2 (`auto`);
 * explicit settings are kept; impossible ones stop the program with a clear
 * error; an existing, less replicated topic is kept and named in a warning.
 * Uses the cluster of `deno task services --brokers 3` when
 * `KAFKA_CLUSTER_BROKERS` names it, else starts one of its own.
 */
import assert from "node:assert/strict";
import { ConfigResourceTypes, type Kafka } from "kafkajs";
import { createKafka, ensureTopics, liveBrokers, partitionReplicas } from "@activity/shared/kafka";
import { clusterForTest } from "../testing/kafka_cluster.ts";
import {
  cliArgs,
  createTestDatabase,
  exitWithin,
  spawnConsumerProcess,
  testServices,
  uniqueName,
  waitUntil,
} from "../testing/mod.ts";
import { runProducerCli, startProducerCli } from "../testing/producer_topic.ts";

/** Replicas per partition (all equal) and the topic's min.insync.replicas, read from the brokers. */
async function replicationOf(
  kafka: Kafka,
  topic: string,
): Promise<{ replicas: number; minInsync: number }> {
  const partitions = await partitionReplicas(kafka, topic);
  const counts = new Set(partitions.map((partition) => partition.replicas.length));
  assert.equal(counts.size, 1, `${topic}: partitions with different replica counts`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configNames: ["min.insync.replicas"],
      }],
    });
    const value = resources[0].configEntries.find((entry) =>
      entry.configName === "min.insync.replicas"
    );
    return { replicas: [...counts][0], minInsync: Number(value?.configValue) };
  } finally {
    await admin.disconnect();
  }
}

function producerArgs(brokers: readonly string[], topic: string, extra: string[] = []): string[] {
  const flags = { brokers: brokers.join(","), topic, count: 50, rate: "max", seed: 7 };
  return [...cliArgs({ ...flags, "metrics-port": 0 }), ...extra];
}

Deno.test("on a three-broker cluster the programs create topics replicated as their settings say", async (t) => {
  await using cluster = await clusterForTest();
  await t.step(
    "the producer's topic and the consumer's dead-letter topic get three replicas, two in sync",
    () => createdByThePrograms(cluster.brokers),
  );
  await t.step(
    "explicit settings are kept, impossible ones stop the producer saying why, and a less replicated existing topic is named",
    () => settingsAndShortfalls(cluster.brokers),
  );
});

async function createdByThePrograms(addresses: string[]): Promise<void> {
  const cluster = { brokers: addresses };
  await using db = await createTestDatabase("cluster_topics");
  const kafka = createKafka({ brokers: cluster.brokers, clientId: "cluster-topics-test" });
  assert.ok((await liveBrokers(kafka)).length >= 3, "the cluster has three live brokers");
  const topic = uniqueName("cluster_topics");
  const run = await runProducerCli(producerArgs(cluster.brokers, topic));
  assert.equal(run.code, 0, run.stderr.slice(-2_000));
  assert.deepEqual(await replicationOf(kafka, topic), { replicas: 3, minInsync: 2 });
  const created = run.logs.find((line) => line.msg === "created topic");
  assert.equal(created?.replicationFactor, 3, "the producer says what it created");
  await using consumer = spawnConsumerProcess({
    brokers: cluster.brokers.join(","),
    topic,
    group: uniqueName("cluster_topics_group"),
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    "metrics-port": 0,
  });
  await waitUntil("the consumer created its dead-letter topic", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).includes(`${topic}.dlq`);
    } finally {
      await admin.disconnect();
    }
  });
  consumer.kill("SIGTERM");
  assert.equal((await consumer.finished).code, 0);
  assert.deepEqual(await replicationOf(kafka, `${topic}.dlq`), { replicas: 3, minInsync: 2 });
}

async function settingsAndShortfalls(addresses: string[]): Promise<void> {
  const cluster = { brokers: addresses };
  const kafka = createKafka({ brokers: cluster.brokers, clientId: "cluster-topics-test" });
  const brokers = (await liveBrokers(kafka)).length;

  const explicit = uniqueName("cluster_topics_explicit");
  const run = await runProducerCli(
    producerArgs(cluster.brokers, explicit, [
      "--replication-factor",
      "2",
      "--min-insync-replicas",
      "1",
    ]),
  );
  assert.equal(run.code, 0, run.stderr.slice(-2_000));
  assert.deepEqual(await replicationOf(kafka, explicit), { replicas: 2, minInsync: 1 });

  const impossible = uniqueName("cluster_topics_impossible");
  const refused = await exitWithin(
    startProducerCli(
      producerArgs(cluster.brokers, impossible, ["--replication-factor", String(brokers + 1)]),
    ),
    60_000,
  );
  assert.equal(refused.code, 1);
  const failure = refused.logs.find((line) => line.msg === "the producer failed");
  assert.match(
    String(failure?.error),
    new RegExp(
      `"--replication-factor" is ${brokers + 1} but the cluster has ${brokers} live brokers`,
    ),
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.ok(!(await admin.listTopics()).includes(impossible), "nothing was created");
  } finally {
    await admin.disconnect();
  }

  const thin = uniqueName("cluster_topics_thin");
  await ensureTopics(kafka, [{ topic: thin, partitions: 2 }], {
    replication: { replicationFactor: 1, minInsyncReplicas: 1 },
  });
  const kept = await runProducerCli(producerArgs(cluster.brokers, thin, ["--partitions", "2"]));
  assert.equal(kept.code, 0, kept.stderr.slice(-2_000));
  const warning = kept.logs.find((line) => line.level === "warn" && line.topic === thin);
  assert.match(
    String(warning?.msg),
    /less replicated than new topics: it has 1 replica\(s\) where new topics get 3/,
  );
  assert.deepEqual(await replicationOf(kafka, thin), { replicas: 1, minInsync: 1 });
}

Deno.test("on the test broker auto replication is min(3, its brokers), as before on a single broker", async () => {
  const { brokers } = await testServices();
  const kafka = createKafka({ brokers, clientId: "cluster-topics-test" });
  const live = (await liveBrokers(kafka)).length;
  const topic = uniqueName("single_topics");
  const [outcome] = await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  assert.equal(outcome.created, true);
  assert.equal(outcome.replicationFactor, Math.min(3, live));
  assert.deepEqual(await replicationOf(kafka, topic), {
    replicas: Math.min(3, live),
    minInsync: Math.min(2, live),
  });
});
