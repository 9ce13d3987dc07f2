/**
 * A faster stand-in for KafkaJS 2.2.4's record-batch decoder
 * (`recordBatch/v0/decoder.js`, installed by `kafkajs_fetch_speedups.ts`),
 * giving the same objects as KafkaJS's own. KafkaJS's cut a `Buffer` and
 * made a `Decoder` per record, and its record decoder parsed the batch's
 * first offset and timestamp strings for every record, added through `Long`s
 * (its varlong reader alone makes a dozen), turned the sums back into strings
 * and folded headers with an object spread per header.
 * Plain numbers do the arithmetic while it is exact (|x| < 2^53), BigInts
 * beyond; anything else unusual (a long varlong, bytes outside the record, a
 * `__proto__` header, a non-canonical base) goes to KafkaJS's own code with
 * nothing consumed. KafkaJS's parts are passed in, never imported here: the
 * speedups load KafkaJS's internals only once they have checked them.
 */
import { Buffer } from "node:buffer";

/** KafkaJS's protocol `Decoder` (`src/protocol/decoder.js`), the parts used here. */
export interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readVarIntBytes(): Buffer | null;
  readAll(): Buffer;
  readArray<T>(reader: (decoder: KafkaDecoder) => T): T[];
  slice(size: number): KafkaDecoder;
  forward(size: number): void;
}

/** The `Decoder` class. */
export type DecoderClass = new (buffer: Buffer) => KafkaDecoder;

/** What KafkaJS's record decoder is given about the record's batch (its `batchContext`). */
export interface RecordContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly maxTimestamp: string;
  readonly timestampType: number;
  readonly isControlBatch?: boolean;
  readonly magicByte?: number;
  readonly [field: string]: unknown;
}

/** A record as KafkaJS's record decoder returns it. */
export interface FetchedRecord {
  readonly magicByte: unknown;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, unknown>;
  readonly isControlRecord: boolean;
  readonly batchContext: RecordContext;
}

/** A decoded record batch: its context's fields and its records. */
export type DecodedBatch = Record<string, unknown> & { readonly records: FetchedRecord[] };

/** A compression codec as KafkaJS looks it up. */
export interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** KafkaJS's own parts the fast record-batch decoder uses. */
export interface BatchDecoderParts {
  readonly Decoder: DecoderClass;
  readonly PartialMessageError: new (message: string) => Error;
  readonly lookupCodecByAttributes: (attributes: number) => Codec | null;
  readonly timestampTypes: { readonly LOG_APPEND_TIME: number; readonly CREATE_TIME: number };
  /** KafkaJS's record decoder, for the records left to it. */
  readonly recordDecoder: (decoder: KafkaDecoder, context: RecordContext) => FetchedRecord;
}

/** A record batch decoder: KafkaJS's `recordBatch/v0/decoder.js` or the fast one. */
export type BatchDecoder = (fetchDecoder: KafkaDecoder) => Promise<DecodedBatch>;

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;

/**
 * KafkaJS's record-batch decoder, line for line, except that records are read in place (see
 * `fastDecodeRecord`) and each one KafkaJS's way when that declines it.
 */
export function fastRecordBatchDecoder(parts: BatchDecoderParts): BatchDecoder {
  const { Decoder, PartialMessageError, lookupCodecByAttributes, timestampTypes } = parts;
  const decodeRecords = async (
    codec: Codec | null,
    recordsDecoder: KafkaDecoder,
    context: RecordContext,
  ): Promise<FetchedRecord[]> => {
    const bases = basesOf(context, timestampTypes.LOG_APPEND_TIME);
    const decodeRecord = (decoder: KafkaDecoder) =>
      (bases && decoder.buffer instanceof Buffer && fastDecodeRecord(decoder, context, bases)) ||
      parts.recordDecoder(new Decoder(decoder.readVarIntBytes()!), context);
    if (!codec) return recordsDecoder.readArray(decodeRecord);
    const length = recordsDecoder.readInt32();
    if (length <= 0) return [];
    const decompressed = await codec.decompress(recordsDecoder.readAll());
    const decoder = new Decoder(decompressed);
    const records = new Array(length);
    for (let i = 0; i < length; i++) records[i] = decodeRecord(decoder);
    return records;
  };
  return async (fetchDecoder) => {
    const firstOffset = fetchDecoder.readInt64().toString();
    const length = fetchDecoder.readInt32();
    const decoder = fetchDecoder.slice(length);
    fetchDecoder.forward(length);
    const remainingBytes = Buffer.byteLength(decoder.buffer);
    if (remainingBytes < length) {
      throw new PartialMessageError(
        `Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`,
      );
    }
    const partitionLeaderEpoch = decoder.readInt32();
    const magicByte = decoder.readInt8();
    decoder.readInt32(); // the CRC, which KafkaJS does not check either
    const attributes = decoder.readInt16();
    const lastOffsetDelta = decoder.readInt32();
    const firstTimestamp = decoder.readInt64().toString();
    const maxTimestamp = decoder.readInt64().toString();
    const producerId = decoder.readInt64().toString();
    const producerEpoch = decoder.readInt16();
    const firstSequence = decoder.readInt32();
    const recordContext = {
      firstOffset,
      firstTimestamp,
      partitionLeaderEpoch,
      inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
      isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
      lastOffsetDelta,
      producerId,
      producerEpoch,
      firstSequence,
      maxTimestamp,
      timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0
        ? timestampTypes.LOG_APPEND_TIME
        : timestampTypes.CREATE_TIME,
    };
    const codec = lookupCodecByAttributes(attributes);
    const records = await decodeRecords(codec, decoder, { ...recordContext, magicByte });
    return { ...recordContext, records };
  };
}

/** A batch's first offset or timestamp, parsed once for all its records. */
interface Base {
  /** The value as a number when that is exact, else NaN. */
  readonly number: number;
  readonly big: bigint;
}

/** What every record of a batch shares; undefined leaves the batch's records to KafkaJS. */
interface Bases {
  readonly offset: Base;
  /** Undefined when the batch's timestamp is its max timestamp (log append time). */
  readonly timestamp: Base | undefined;
  readonly isControlRecord: boolean;
}

const DECIMAL = /^-?[0-9]+$/;

function baseOf(text: unknown): Base | undefined {
  // KafkaJS adds through `Long.fromValue(text)`, i.e. `BigInt(text)` for such strings.
  if (typeof text !== "string" || !DECIMAL.test(text)) return undefined;
  const number = Number(text);
  return { number: Number.isSafeInteger(number) ? number : NaN, big: BigInt(text) };
}

function basesOf(context: RecordContext, logAppendTime: number): Bases | undefined {
  const offset = baseOf(context.firstOffset);
  // KafkaJS's condition, truthiness included.
  const appendTime = context.timestampType === logAppendTime && context.maxTimestamp;
  const timestamp = appendTime ? undefined : baseOf(context.firstTimestamp);
  if (offset === undefined || (!appendTime && timestamp === undefined)) return undefined;
  const isControlRecord = context.isControlBatch === undefined ? false : context.isControlBatch;
  return { offset, timestamp, isControlRecord };
}

/** `Long.fromValue(base).add(delta).toString()` for a delta below 2^49 in magnitude. */
function plus(base: Base, delta: number): string {
  const sum = base.number + delta;
  if (sum <= Number.MAX_SAFE_INTEGER && sum >= -Number.MAX_SAFE_INTEGER) return String(sum);
  return String(base.big + BigInt(delta));
}

/** The readers' position in the buffer being decoded (decoding is synchronous: one at a time). */
let at = 0;

/** KafkaJS's `readVarInt`, the same operations; NaN when it would read past `end`. */
function varInt(buf: Buffer, end: number): number {
  let byte;
  let result = 0;
  let shift = 0;
  do {
    if (at >= end) return NaN;
    byte = buf[at++];
    result += (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  return (result >>> 1) ^ -(result & 1);
}

/**
 * KafkaJS's `readVarLong` for varlongs of up to 7 bytes (|value| < 2^48, exact as a number);
 * NaN for longer ones (KafkaJS's BigInt arithmetic decides those) or past `end`.
 */
function varLong(buf: Buffer, end: number): number {
  let byte;
  let result = 0;
  let scale = 1;
  do {
    if (at >= end || scale > 2 ** 42) return NaN;
    byte = buf[at++];
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte >= 0x80);
  // Zig-zag: (v >> 1) ^ -(v & 1).
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** KafkaJS's `readVarIntBytes` (a view, not a copy); undefined when not plainly in bounds. */
function varIntBytes(buf: Buffer, end: number): Buffer | null | undefined {
  const length = varInt(buf, end);
  if (length === -1) return null;
  if (!(length >= 0) || at + length > end) return undefined;
  const bytes = buf.subarray(at, at + length);
  at += length;
  return bytes;
}

/**
 * The next record of `decoder`, as KafkaJS's record decoder makes it, read where it lies (no
 * copy, no `Decoder` of its own); undefined, with nothing consumed, to leave it to KafkaJS.
 */
function fastDecodeRecord(
  decoder: KafkaDecoder,
  context: RecordContext,
  bases: Bases,
): FetchedRecord | undefined {
  const buf = decoder.buffer;
  at = decoder.offset;
  const length = varInt(buf, buf.length);
  if (!(length >= 0) || at + length > buf.length) return undefined;
  const end = at + length;
  if (at >= end) return undefined;
  const attributes = (buf[at++] << 24) >> 24;
  const timestampDelta = varLong(buf, end);
  if (timestampDelta !== timestampDelta) return undefined;
  const timestamp = bases.timestamp === undefined
    ? context.maxTimestamp
    : plus(bases.timestamp, timestampDelta);
  const offsetDelta = varInt(buf, end);
  if (offsetDelta !== offsetDelta) return undefined;
  const offset = plus(bases.offset, offsetDelta);
  const key = varIntBytes(buf, end);
  if (key === undefined) return undefined;
  const value = varIntBytes(buf, end);
  if (value === undefined) return undefined;
  const headers = readHeaders(buf, end);
  if (headers === undefined) return undefined;
  decoder.offset = end;
  return {
    magicByte: context.magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: bases.isControlRecord,
    batchContext: context,
  };
}

/**
 * KafkaJS's headers object: a repeated key collects its values in an array, in order (KafkaJS
 * folds with a spread per header; assigning in place keeps the same keys, order and values).
 */
function readHeaders(buf: Buffer, end: number): Record<string, unknown> | undefined {
  const count = varInt(buf, end);
  // KafkaJS: -1 is no headers; any other negative count throws (KafkaJS's code says how).
  if (count === 0 || count === -1) return {};
  if (!(count > 0)) return undefined;
  const headers: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const keyLength = varInt(buf, end);
    let key = "null";
    if (keyLength !== -1) {
      if (!(keyLength >= 0) || at + keyLength > end) return undefined;
      key = buf.subarray(at, at + keyLength).toString("utf8");
      at += keyLength;
    }
    // As a computed key in a literal, `__proto__` is a plain property; assigned, it is not.
    if (key === "__proto__") return undefined;
    const value = varIntBytes(buf, end);
    if (value === undefined) return undefined;
    const previous = headers[key];
    headers[key] = previous === undefined
      ? value
      : Array.isArray(previous)
      ? previous.concat([value])
      : [previous, value];
  }
  return headers;
}
