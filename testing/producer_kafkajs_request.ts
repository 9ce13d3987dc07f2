/**
 * Encodes one sample produce request with KafkaJS and prints it as base64, so
 * that a test can compare KafkaJS's bytes with and without the producer's
 * speedups, each in a fresh process (module swaps cannot be undone):
 * `deno run -A testing/producer_kafkajs_request.ts [--speedups]`.
 */
import { Buffer } from "node:buffer";

/** What varies between sample produce requests. */
export interface SampleRequestOptions {
  /** Messages in all; the first `split` go to partition 0, the rest to partition 5. */
  readonly messages: number;
  readonly split: number;
  /** The headers of message `i`, if any. */
  readonly headers: (i: number) => Record<string, string | string[]> | undefined;
}

/**
 * The argument of KafkaJS's produce v3 request: varied keys (text and bytes), values (empty
 * and growing), headers and timestamps (out of order), on two partitions of one topic.
 */
export function sampleProduceRequest(
  long: { fromNumber(value: number): unknown },
  options: SampleRequestOptions,
): unknown {
  const messages = Array.from({ length: options.messages }, (_, i) => ({
    key: i % 3 === 0 ? `user_${i}` : Buffer.from(`k${i}`),
    value: i % 7 === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify({ i, text: "x".repeat(i) })),
    headers: options.headers(i),
    timestamp: String(1_780_000_000_000 + i * 37 - (i % 4) * 1_000_000),
  }));
  return {
    acks: -1,
    timeout: 30_000,
    producerId: long.fromNumber(4242),
    producerEpoch: 3,
    topicData: [{
      topic: "user_activity",
      partitions: [
        { partition: 0, firstSequence: 17, messages: messages.slice(0, options.split) },
        { partition: 5, firstSequence: 0, messages: messages.slice(options.split) },
      ],
    }],
  };
}

/** The encoded bytes of a sample produce request (`sampleProduceRequest`). */
export async function encodeSampleProduceRequest(): Promise<Uint8Array> {
  // Loaded here, not at the top, so that the speedups can be installed first.
  // Typed by hand: KafkaJS's JSDoc for this module is malformed (read as a string argument).
  const { default: produceV3 } = await import(
    "kafkajs/src/protocol/requests/produce/v3/request.js"
  ) as { default: (request: unknown) => { encode(): Promise<{ buffer: Uint8Array }> } };
  const { default: Long } = await import("kafkajs/src/utils/long.js");
  const request = produceV3(sampleProduceRequest(Long, {
    messages: 400,
    split: 250,
    headers: (i) => i % 50 === 0 ? { trace: `t${i}` } : undefined,
  }));
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
