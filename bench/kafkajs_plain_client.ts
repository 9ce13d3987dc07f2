/**
 * Stock KafkaJS 2.2.4 behind the benchmark's client interface: a sink for the
 * producer's publishing loop written the way KafkaJS's documentation does it
 * (string keys, Java-compatible default partitioner, one `send` per batch,
 * acknowledgement from all in-sync replicas), and a count-only `eachBatch`
 * reader. It must never load the producer's Kafka sink, which patches KafkaJS
 * for the whole process: `kafka_clients_test.ts` checks the module graph.
 */
import { Partitioners } from "kafkajs";
import { createKafka, toKafkaBuffer } from "@activity/shared/kafka";
import type { OutgoingBatch } from "../producer/batch.ts";
import type { MessageSink } from "../producer/publisher.ts";
import { DrainTracker, monotonicNow, whenDrained } from "./drain_tracker.ts";
import type { ClientSink, DrainOptions, SinkOptions } from "./client_contract.ts";
import type { DrainResult } from "./drain_tracker.ts";

/** Connects an unpatched KafkaJS producer to an existing topic. */
export async function openPlainKafkaJsSink(options: SinkOptions): Promise<ClientSink> {
  const kafka = createKafka({ brokers: options.brokers, clientId: "bench-kafkajs-plain" });
  const producer = kafka.producer({
    idempotent: options.idempotent,
    maxInFlightRequests: options.maxInFlight,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: options.retries },
  });
  await producer.connect();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await producer.disconnect();
  };
  const sink: MessageSink = {
    async send(batch: OutgoingBatch): Promise<void> {
      const messages = new Array(batch.count);
      for (let i = 0; i < batch.count; i++) {
        messages[i] = { key: batch.keys[i], value: toKafkaBuffer(batch.value(i)) };
      }
      await producer.send({ topic: options.topic, acks: -1, messages });
    },
  };
  return {
    maxInFlight: options.maxInFlight,
    details: { library: "kafkajs@2.2.4", speedups: "none" },
    send: sink.send,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Reads the topic to its end with KafkaJS `eachBatch` in a fresh group, counting only. */
export async function drainWithKafkaJs(options: DrainOptions): Promise<DrainResult> {
  const kafka = createKafka({ brokers: options.brokers, clientId: "bench-kafkajs-drain" });
  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: options.fetch.maxBytesPerPartition,
    maxBytes: options.fetch.maxBytes,
    maxWaitTimeInMs: options.fetch.maxWaitMs,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    const tracker = new DrainTracker(options.ends, performance.now());
    let fail: (error: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => (fail = reject));
    consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const { messages } = batch;
        if (messages.length > 0) {
          const last = BigInt(messages[messages.length - 1].offset);
          tracker.add(batch.partition, last, messages.length, monotonicNow);
        }
        return Promise.resolve();
      },
    });
    await whenDrained(tracker, { stallMs: options.stallMs, failed });
    return tracker.result();
  } finally {
    await consumer.disconnect();
  }
}
