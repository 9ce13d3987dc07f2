/**
 * Sample record batches for comparing the consumer's fast fetch decoding with
 * KafkaJS's own (the speedups' guard, the tests and the benchmark): written
 * by KafkaJS's own encoders, decoded the way KafkaJS's fetch response does,
 * and compared through a strict fingerprint of what came out.
 */
import { Buffer } from "node:buffer";
import type { BatchDecoder, DecoderClass, KafkaDecoder } from "./kafkajs_fast_fetch.ts";

/** KafkaJS's own encoding parts the samples are written with. */
export interface SampleEncoders {
  /** `recordBatch/v0/index.js`'s `RecordBatch`. */
  readonly RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
  /** `recordBatch/record/v0/index.js`. */
  readonly Record: (args: Record<string, unknown>) => unknown;
  readonly Long: { fromValue(value: unknown): unknown };
  /** The GZIP codec's number (`message/compression`'s `Types.GZIP`). */
  readonly gzip: number;
}

/** One record as KafkaJS's `Record` encoder takes it. */
export interface SampleRecord {
  readonly key?: string | Buffer | null;
  readonly value?: string | Buffer | null;
  readonly offsetDelta?: number;
  /** A number, or a decimal string for varlongs beyond 2^53. */
  readonly timestampDelta?: number | string;
  readonly headers?: Record<string, string | string[]>;
}

/** One record batch to write. */
export interface SampleBatch {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly maxTimestamp: string;
  readonly records: readonly SampleRecord[];
  readonly gzip?: boolean;
  readonly transactional?: boolean;
  readonly producerId?: string;
  /** Attribute bits KafkaJS's encoder cannot set (0x08 log append time, 0x20 control batch). */
  readonly flags?: number;
}

/** Where a record batch's attributes' low byte lies (after offset, length, epoch, magic, CRC). */
const ATTRIBUTES_LOW_BYTE = 8 + 4 + 4 + 1 + 4 + 1;

/** Each batch's bytes as a fetch response's record set holds them (put them one after another). */
export async function encodeBatches(
  encoders: SampleEncoders,
  batches: readonly SampleBatch[],
): Promise<Buffer[]> {
  const { Long } = encoders;
  const encoded: Buffer[] = [];
  for (const batch of batches) {
    const written = await encoders.RecordBatch({
      compression: batch.gzip ? encoders.gzip : 0,
      firstOffset: Long.fromValue(batch.firstOffset),
      firstTimestamp: Long.fromValue(batch.firstTimestamp),
      maxTimestamp: Long.fromValue(batch.maxTimestamp),
      lastOffsetDelta: batch.records.length - 1,
      transactional: batch.transactional ?? false,
      producerId: Long.fromValue(batch.producerId ?? "-1"),
      records: batch.records.map((record) =>
        encoders.Record({
          ...record,
          timestampDelta: typeof record.timestampDelta === "string"
            ? Long.fromValue(record.timestampDelta)
            : record.timestampDelta,
        })
      ),
    });
    // A copy: the encoder's buffer may be a view into a larger one.
    const bytes = Buffer.from(written.buffer);
    bytes[ATTRIBUTES_LOW_BYTE] |= batch.flags ?? 0;
    encoded.push(bytes);
  }
  return encoded;
}

/** Record-batch overhead: KafkaJS stops when fewer bytes are left (`fetch/v4/decodeMessages`). */
const RECORD_BATCH_OVERHEAD = 49;

/**
 * Every batch `decode` finds in `bytes`, as KafkaJS's fetch response decodes a record set (a
 * partial batch ends it), and the error that ended it, if any.
 */
export async function decodeAll(
  decode: BatchDecoder,
  Decoder: DecoderClass,
  bytes: Buffer,
): Promise<unknown[]> {
  const decoder = new Decoder(bytes) as KafkaDecoder & { canReadBytes(length: number): boolean };
  const found: unknown[] = [];
  while (decoder.canReadBytes(RECORD_BATCH_OVERHEAD)) {
    try {
      found.push(await decode(decoder));
    } catch (error) {
      found.push(error);
      break;
    }
  }
  return found;
}

/**
 * A strict text of a value: types, own keys in order, prototypes, bytes and where a Buffer's
 * bytes lie in its memory, errors by class and fields (not where they were thrown).
 */
export function fingerprint(value: unknown): string {
  const out: string[] = [];
  walk(value, out, 0);
  return out.join("");
}

function walk(value: unknown, out: string[], depth: number): void {
  if (depth > 12) throw new Error("fingerprint: nested too deeply");
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "number":
      out.push(`n${Object.is(value, -0) ? "-0" : value}`);
      return;
    case "bigint":
      out.push(`b${value}`);
      return;
    case "boolean":
    case "undefined":
    case "symbol":
      out.push(String(value));
      return;
    case "function":
      out.push(`function ${value.name}`);
      return;
  }
  if (value === null) {
    out.push("null");
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  const tag = prototype === Object.prototype
    ? ""
    : prototype === null
    ? "(null)"
    : prototype === Buffer.prototype
    ? "Buffer"
    : String(prototype.constructor?.name);
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    out.push(`${tag}<${Buffer.from(bytes).toString("hex")}@${value.byteOffset}>`);
    return;
  }
  out.push(`${tag}${Array.isArray(value) ? "[" : "{"}`);
  for (const key of Reflect.ownKeys(value as object)) {
    // Where an error was thrown from is no part of it.
    if (key === "stack" && value instanceof Error) continue;
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    out.push(`${String(key)}${descriptor.enumerable ? "" : "(hidden)"}:`);
    if ("value" in descriptor) walk(descriptor.value, out, depth + 1);
    else out.push("(accessor)");
    out.push(",");
  }
  out.push(Array.isArray(value) ? "]" : "}");
}

const EVENT = (i: number) =>
  JSON.stringify({
    version: 1,
    event_id: `0b7e${String(i).padStart(4, "0")}-8c1d-4f1e-9a3b-2d6f1c0e${
      String(i).padStart(4, "0")
    }`,
    user_id: `user_${(i * 7919) % 5000}`,
    session_id: `s_${((i * 7919) % 5000).toString(16).padStart(16, "0")}`,
    event_type: ["click", "view", "scroll"][i % 3],
    occurred_at: new Date(Date.UTC(2026, 5, 1, 12) + i * 37).toISOString(),
    page: `/products/${i % 40}`,
  });

/**
 * The batches the guard compares: keys, null keys and values, headers with repeated keys,
 * a transaction, a control batch, log append time, offsets and timestamps beyond 2^53
 * (a varlong beyond 7 bytes too), a negative base, a GZIP batch.
 */
export function guardBatches(): SampleBatch[] {
  const t0 = "1780000000000";
  return [
    {
      firstOffset: "0",
      firstTimestamp: t0,
      maxTimestamp: "1780000005000",
      records: [
        { key: "user_1", value: EVENT(1), timestampDelta: 0 },
        {
          key: Buffer.from([0, 255, 7]),
          value: Buffer.alloc(0),
          offsetDelta: 1,
          timestampDelta: -3,
        },
        { key: null, value: EVENT(2), offsetDelta: 2, timestampDelta: 70_000 },
        { key: "k", value: null, offsetDelta: 3, timestampDelta: 2 ** 40 },
        { key: "é", value: "x".repeat(300), offsetDelta: 5, timestampDelta: -(2 ** 35) },
      ],
    },
    {
      firstOffset: "6",
      firstTimestamp: t0,
      maxTimestamp: t0,
      records: [
        { key: "h", value: "v", headers: { trace: "t1", many: ["a", "b", "c"], "": "empty" } },
        { key: "h", value: "v", offsetDelta: 1, headers: { "ключ": "значение", null: "n" } },
        { key: "h", value: "v", offsetDelta: 2, headers: { toString: "x", 7: "seven" } },
      ],
    },
    {
      firstOffset: "9",
      firstTimestamp: t0,
      maxTimestamp: t0,
      transactional: true,
      producerId: "4242",
      records: [{ key: "t", value: "in a transaction" }],
    },
    {
      firstOffset: "10",
      firstTimestamp: t0,
      maxTimestamp: t0,
      flags: 0x20,
      producerId: "4242",
      records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }],
    },
    {
      firstOffset: "11",
      firstTimestamp: t0,
      maxTimestamp: "1780000009999",
      flags: 0x08,
      records: [{ key: "a", value: "b", timestampDelta: 5 }, { key: "a", offsetDelta: 1 }],
    },
    {
      firstOffset: "9007199254740990",
      firstTimestamp: "9007199254740000",
      maxTimestamp: "9223372036854775807",
      records: [0, 1, 2, 3, 4].map((i) => ({
        key: `big_${i}`,
        value: EVENT(i),
        offsetDelta: i,
        timestampDelta: [991, 992, 2 ** 47, "1125899906842624", "-9000000000000000000"][i],
      })),
    },
    {
      firstOffset: "-5",
      firstTimestamp: "-1",
      maxTimestamp: "-1",
      records: [{ key: "neg", value: "v", timestampDelta: 1 }, { value: "w", offsetDelta: 3 }],
    },
    {
      firstOffset: "20",
      firstTimestamp: t0,
      maxTimestamp: t0,
      gzip: true,
      records: Array.from({ length: 8 }, (_, i) => ({
        key: `user_${i}`,
        value: EVENT(i),
        offsetDelta: i,
        timestampDelta: i * 11,
        headers: i === 3 ? { trace: ["x", "y"] } : undefined,
      })),
    },
  ];
}

/** A realistic drain's batch: `count` canonical events of about 200 bytes, keyed by user. */
export function eventBatch(firstOffset: number, count: number): SampleBatch {
  const t0 = Date.UTC(2026, 5, 1, 12);
  return {
    firstOffset: String(firstOffset),
    firstTimestamp: String(t0),
    maxTimestamp: String(t0 + count),
    records: Array.from({ length: count }, (_, i) => ({
      key: `user_${((firstOffset + i) * 7919) % 5000}`,
      value: EVENT(firstOffset + i),
      offsetDelta: i,
      timestampDelta: i,
    })),
  };
}
