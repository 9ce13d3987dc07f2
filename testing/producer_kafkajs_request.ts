/**
 * Encodes one sample produce request with KafkaJS and prints it as base64, so
 * that a test can compare KafkaJS's bytes with and without the producer's
 * speedups, each in a fresh process (module swaps cannot be undone):
 * `deno run -A testing/producer_kafkajs_request.ts [--speedups]`.
 */
import { Buffer } from "node:buffer";

/** The encoded bytes of a produce request with varied keys, values, headers and timestamps. */
export async function encodeSampleProduceRequest(): Promise<Uint8Array> {
  // Loaded here, not at the top, so that the speedups can be installed first.
  // Typed by hand: KafkaJS's JSDoc for this module is malformed (read as a string argument).
  const { default: produceV3 } = await import(
    "kafkajs/src/protocol/requests/produce/v3/request.js"
  ) as { default: (request: unknown) => { encode(): Promise<{ buffer: Uint8Array }> } };
  const { default: Long } = await import("kafkajs/src/utils/long.js");
  const messages = Array.from({ length: 400 }, (_, i) => ({
    key: i % 3 === 0 ? `user_${i}` : Buffer.from(`k${i}`),
    value: i % 7 === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify({ i, text: "x".repeat(i) })),
    headers: i % 50 === 0 ? { trace: `t${i}` } : undefined,
    timestamp: String(1_780_000_000_000 + i * 37 - (i % 4) * 1_000_000),
  }));
  const request = produceV3({
    acks: -1,
    timeout: 30_000,
    producerId: Long.fromNumber(4242),
    producerEpoch: 3,
    topicData: [{
      topic: "user_activity",
      partitions: [
        { partition: 0, firstSequence: 17, messages: messages.slice(0, 250) },
        { partition: 5, firstSequence: 0, messages: messages.slice(250) },
      ],
    }],
  });
  const encoded = await request.encode();
  return new Uint8Array(encoded.buffer);
}

if (import.meta.main) {
  let speedups: unknown = null;
  if (Deno.args.includes("--speedups")) {
    speedups = (await import("../producer/kafkajs_speedups.ts")).installKafkaJsSpeedups();
  }
  const bytes = await encodeSampleProduceRequest();
  console.log(JSON.stringify({ speedups, base64: Buffer.from(bytes).toString("base64") }));
}
