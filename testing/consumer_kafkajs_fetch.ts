/**
 * A sample fetch response (one topic, several partitions of canonical events,
 * written by KafkaJS's own encoders) decoded the way the consumer's KafkaJS
 * does it: its fetch v11 response decoder, then a `Batch` per partition. Run
 * as a program it prints a digest of what came out, so that a test can
 * compare KafkaJS with and without the consumer's speedups, each in a fresh
 * process (module swaps cannot be undone):
 * `deno run -A testing/consumer_kafkajs_fetch.ts [--speedups]`.
 */
import { Buffer } from "node:buffer";
import { nodeKafkaJsModules } from "@activity/shared/kafkajs_modules";
import {
  encodeBatches,
  eventBatch,
  fingerprint,
  type SampleBatch,
  type SampleEncoders,
} from "../consumer/kafkajs_fetch_samples.ts";

/** What the sample fetch response holds. */
export interface SampleFetchOptions {
  readonly partitions: number;
  /** Record batches per partition, and records per batch. */
  readonly batches: number;
  readonly records: number;
  /** A batch of other kinds of records at the end of each partition (headers, control...). */
  readonly extra?: (partition: number, firstOffset: number) => SampleBatch[];
}

/** A sample fetch: the response's bytes and the offset each partition was fetched from. */
export interface SampleFetch {
  readonly topic: string;
  readonly bytes: Buffer;
  readonly fetchOffsets: readonly string[];
  readonly records: number;
}

/** KafkaJS's encoders, loaded from its module cache (none of them is ever swapped). */
function encoders(): SampleEncoders {
  const modules = nodeKafkaJsModules();
  const compression = modules.load("src/protocol/message/compression/index.js") as {
    Types: { GZIP: number };
  };
  return {
    RecordBatch: (modules.load("src/protocol/recordBatch/v0/index.js") as {
      RecordBatch: SampleEncoders["RecordBatch"];
    }).RecordBatch,
    Record: modules.load("src/protocol/recordBatch/record/v0/index.js") as SampleEncoders["Record"],
    Long: modules.load("src/utils/long.js") as SampleEncoders["Long"],
    gzip: compression.Types.GZIP,
  };
}

/** A fetch v11 response with `options.partitions` partitions of canonical events. */
export async function sampleFetch(options: SampleFetchOptions): Promise<SampleFetch> {
  const topic = "user_activity";
  const parts: Buffer[] = [];
  const int = (bits: 16 | 32 | 64, value: number | bigint) => {
    const bytes = Buffer.alloc(bits / 8);
    if (bits === 16) bytes.writeInt16BE(Number(value));
    else if (bits === 32) bytes.writeInt32BE(Number(value));
    else bytes.writeBigInt64BE(BigInt(value));
    parts.push(bytes);
  };
  int(32, 0); // throttle time
  int(16, 0); // error code
  int(32, 0); // session id
  int(32, 1); // topics
  int(16, Buffer.byteLength(topic));
  parts.push(Buffer.from(topic));
  int(32, options.partitions);
  const fetchOffsets: string[] = [];
  let records = 0;
  for (let partition = 0; partition < options.partitions; partition++) {
    const first = partition * 1_000_000;
    const batches = Array.from(
      { length: options.batches },
      (_, i) => eventBatch(first + i * options.records, options.records),
    );
    const end = first + options.batches * options.records;
    batches.push(...options.extra?.(partition, end) ?? []);
    const set = Buffer.concat(await encodeBatches(encoders(), batches));
    records += batches.reduce((sum, batch) => sum + batch.records.length, 0);
    // One partition fetched from inside its first batch: KafkaJS drops the records before.
    fetchOffsets.push(String(partition === 1 ? first + 3 : first));
    int(32, partition);
    int(16, 0);
    int(64, end + 1000); // high watermark
    int(64, end + 1000); // last stable offset
    int(64, first); // log start offset
    int(32, 0); // aborted transactions
    int(32, -1); // preferred read replica
    int(32, set.length);
    parts.push(set);
  }
  return { topic, bytes: Buffer.concat(parts), fetchOffsets, records };
}

type Batches = { messages: unknown[] }[];

/** KafkaJS's fetch v11 decoding of `fetch`, then its consumer `Batch` per partition. */
export async function decodeSampleFetch(fetch: SampleFetch): Promise<Batches> {
  // Loaded when called, so that a program can install the speedups first.
  const modules = nodeKafkaJsModules();
  const response = modules.load("src/protocol/requests/fetch/v11/response.js") as {
    decode(bytes: Buffer): Promise<unknown>;
    parse(decoded: unknown): Promise<{
      responses: { topicName: string; partitions: { partition: number }[] }[];
    }>;
  };
  const Batch = modules.load("src/consumer/batch.js") as new (
    topic: string,
    fetchedOffset: string,
    data: unknown,
  ) => { messages: unknown[] };
  const { responses } = await response.parse(await response.decode(fetch.bytes));
  return responses.flatMap(({ topicName, partitions }) =>
    partitions.map((data) => new Batch(topicName, fetch.fetchOffsets[data.partition], data))
  );
}

/** Headers, keys, a control batch and a gzip batch after the events. */
function extra(partition: number, firstOffset: number): SampleBatch[] {
  const t0 = "1780000000000";
  return [
    {
      firstOffset: String(firstOffset),
      firstTimestamp: t0,
      maxTimestamp: "1780000001234",
      flags: partition % 2 === 0 ? 0x08 : 0,
      records: [
        { key: null, value: "{}", headers: { trace: ["a", "b"], id: `p${partition}` } },
        { key: "k", value: null, offsetDelta: 1, timestampDelta: -7 },
      ],
    },
    {
      firstOffset: String(firstOffset + 2),
      firstTimestamp: t0,
      maxTimestamp: t0,
      flags: 0x20,
      records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.alloc(6) }],
    },
    { ...eventBatch(firstOffset + 3, 20), gzip: true },
  ];
}

if (import.meta.main) {
  let speedups: unknown = null;
  if (Deno.args.includes("--speedups")) {
    const { installKafkaJsFetchSpeedups } = await import("../consumer/kafkajs_fetch_speedups.ts");
    speedups = await installKafkaJsFetchSpeedups();
  }
  const fetch = await sampleFetch({ partitions: 6, batches: 3, records: 100, extra });
  const batches = await decodeSampleFetch(fetch);
  const text = fingerprint(batches);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  console.log(JSON.stringify({
    speedups,
    messages: batches.reduce((sum, batch) => sum + batch.messages.length, 0),
    length: text.length,
    sha256: Buffer.from(digest).toString("hex"),
  }));
}
