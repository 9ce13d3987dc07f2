import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Partitioners } from "kafkajs";
import { type KeyedMessage, partitionWise } from "./kafka_sink.ts";

Deno.test("a batch is split into one group per partition, each message where KafkaJS's default partitioner puts its key, in order", () => {
  const kafkaJs = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));
  const messages: KeyedMessage[] = Array.from({ length: 500 }, (_, i) => ({
    key: i % 2 === 0 ? `user_${i % 37}` : Buffer.from(`user_${i % 37}`),
    value: Buffer.from(String(i)),
  }));
  const expected = messages.map((message) =>
    kafkaJs({ topic: "t", partitionMetadata, message: { ...message } })
  );
  const groups = partitionWise(6, Partitioners)(messages);
  assert.ok(groups.length > 1 && groups.length <= 6);
  let seen = 0;
  for (const group of groups) {
    const partition = group[0].partition!;
    assert.ok(group.every((message) => message.partition === partition), "one partition per group");
    const values = group.map((message) => Number(message.value.toString()));
    assert.deepEqual(values, [...values].sort((a, b) => a - b), "order within a partition kept");
    for (const value of values) assert.equal(expected[value], partition, `message ${value}`);
    seen += group.length;
  }
  assert.equal(seen, messages.length);
});
