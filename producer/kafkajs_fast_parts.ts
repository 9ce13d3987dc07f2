/**
 * Faster, byte-identical stand-ins for parts of KafkaJS 2.2.4's producing
 * path (installed by `kafkajs_speedups.ts`). Each keeps KafkaJS's behaviour
 * and hands anything unusual back to KafkaJS's own code. KafkaJS's `Encoder`
 * is passed in, never imported here: the speedups load KafkaJS's internals
 * only once they have checked them.
 */
import { Buffer } from "node:buffer";
// @ts-types="./kafkajs_encoder.d.ts"
import type Encoder from "kafkajs/src/protocol/encoder.js";

/** KafkaJS's protocol `Encoder` class. */
export type EncoderClass = typeof Encoder;
type EncoderInstance = InstanceType<EncoderClass>;

/** An `Encoder` method as stored on its prototype. */
export type EncoderMethod = (this: EncoderInstance, value: never) => EncoderInstance;

/** The `Encoder` methods replaced. */
export type ReplacedMethods = Record<
  | "ensureAvailable"
  | "writeBufferInternal"
  | "writeUVarInt"
  | "writeVarLong"
  | "writeEncoder"
  | "writeEncoderArray",
  EncoderMethod
>;

/** Numbers in (-2^30, 2^30) zig-zag to the same bits in 32 as in 64 bits. */
const SMALL = 2 ** 30;

function isSmallInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > -SMALL && value < SMALL;
}

/** Faster `Encoder` methods; `original` serves the cases they do not handle. */
export function fastEncoderMethods(original: ReplacedMethods): ReplacedMethods {
  return {
    ensureAvailable: function (this: EncoderInstance, length: number) {
      const needed = this.offset + length;
      if (needed <= this.buf.length) return this;
      // Not zero-filled (KafkaJS zero-fills): only bytes before `offset` are ever read.
      const grown = Buffer.allocUnsafe(nextPowerOfTwo(needed));
      grown.set(this.buf.subarray(0, this.offset));
      this.buf = grown;
      return this;
    } as EncoderMethod,
    writeBufferInternal: function (this: EncoderInstance, buffer: Uint8Array) {
      this.ensureAvailable(buffer.length);
      // TypedArray#set, a plain memory copy, instead of Buffer#copy.
      this.buf.set(buffer, this.offset);
      this.offset += buffer.length;
      return this;
    } as EncoderMethod,
    writeUVarInt: function (this: EncoderInstance, value: number) {
      this.ensureAvailable(5);
      const buf = this.buf;
      let offset = this.offset;
      // KafkaJS's loop, writing in place instead of into a temporary Buffer.
      while ((value & 0xffffff80) !== 0) {
        buf[offset++] = (value & 0x7f) | 0x80;
        value >>>= 7;
      }
      buf[offset++] = value & 0x7f;
      this.offset = offset;
      return this;
    } as EncoderMethod,
    writeVarLong: function (this: EncoderInstance, value: unknown) {
      if (isSmallInteger(value)) return this.writeUVarInt(((value << 1) ^ (value >> 31)) >>> 0);
      return original.writeVarLong.call(this, value as never);
    } as EncoderMethod,
    writeEncoder: function (this: EncoderInstance, value: EncoderInstance) {
      if (value == null || !(value.buf instanceof Uint8Array)) {
        return original.writeEncoder.call(this, value as never);
      }
      append(this, value);
      return this;
    } as EncoderMethod,
    writeEncoderArray: function (this: EncoderInstance, values: EncoderInstance[]) {
      if (
        !Array.isArray(values) || values.some((v) => v == null || !(v.buf instanceof Uint8Array))
      ) {
        return original.writeEncoderArray.call(this, values as never);
      }
      for (const value of values) append(this, value);
      return this;
    } as EncoderMethod,
  };
}

/** KafkaJS's `Encoder.nextPowerOfTwo`: the smallest power of two above `value`. */
function nextPowerOfTwo(value: number): number {
  return 1 << (31 - Math.clz32(value) + 1);
}

/** Appends the written bytes of `source` without the `slice` KafkaJS makes. */
function append(target: EncoderInstance, source: EncoderInstance): void {
  const length = source.offset;
  target.ensureAvailable(length);
  target.buf.set(source.buf.subarray(0, length), target.offset);
  target.offset += length;
}

/** A faster `Encoder.sizeOfVarLong`. */
export function fastSizeOfVarLong(
  Encoder: EncoderClass,
  original: (value: unknown) => number,
): (value: unknown) => number {
  return (value) => isSmallInteger(value) ? Encoder.sizeOfVarInt(value) : original(value);
}

/** A message as KafkaJS's partitioner sees it. */
interface PartitionerArgs {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly message: unknown;
}

/** KafkaJS's `groupMessagesPerPartition` in linear time: the same object of arrays, same order. */
export function groupMessagesPerPartition(
  { topic, partitionMetadata, messages, partitioner }: {
    topic: string;
    partitionMetadata: readonly unknown[];
    messages: readonly unknown[];
    partitioner: (args: PartitionerArgs) => number;
  },
): Record<number, unknown[]> {
  const groups: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return groups;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (groups[partition] ??= []).push(message);
  }
  return groups;
}

/** What KafkaJS's `Record` (record/v0) takes. */
export interface RecordArgs {
  readonly offsetDelta?: number;
  readonly timestampDelta?: number;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/**
 * KafkaJS's `Record` without its 512-byte zero-filled buffer per record: the
 * same writes, by KafkaJS's own methods, into a buffer of the exact size.
 * Records with headers go to `original`.
 */
export function fastRecord(
  Encoder: EncoderClass,
  original: (args: RecordArgs) => EncoderInstance,
): (args: RecordArgs) => EncoderInstance {
  return (args) => {
    if (args.headers !== undefined && Object.keys(args.headers).length > 0) return original(args);
    const { offsetDelta = 0, timestampDelta = 0, key, value } = args;
    const sizeOfBody = 1 + Encoder.sizeOfVarLong(timestampDelta) +
      Encoder.sizeOfVarInt(offsetDelta) + Encoder.sizeOfVarIntBytes(key) +
      Encoder.sizeOfVarIntBytes(value) +
      Encoder.sizeOfVarInt(0);
    const encoder = Object.create(Encoder.prototype) as EncoderInstance;
    // +4: a varint write reserves 5 bytes, also for the last, 1-byte one (no regrowth).
    encoder.buf = Buffer.allocUnsafe(Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody + 4);
    encoder.offset = 0;
    return encoder
      .writeVarInt(sizeOfBody)
      .writeInt8(0)
      .writeVarLong(timestampDelta)
      .writeVarInt(offsetDelta)
      .writeVarIntBytes(key)
      .writeVarIntBytes(value)
      .writeVarIntArray([]);
  };
}
