/**
 * The parts of KafkaJS 2.2.4's internal protocol `Encoder`
 * (`kafkajs/src/protocol/encoder.js`) that the producer's speedups replace or test.
 */
export default class Encoder {
  /** An encoder with room for `initialSize` bytes. */
  constructor(initialSize?: number);
  /** The backing buffer; bytes [0, offset) are written. */
  buf: Uint8Array;
  /** Bytes written so far. */
  offset: number;
  /** The written bytes. */
  readonly buffer: Uint8Array;
  /** Grows `buf` so that `length` more bytes fit. */
  ensureAvailable(length: number): void;
  /** Appends raw bytes. */
  writeBufferInternal(buffer: Uint8Array): void;
  /** Writes an int8. */
  writeInt8(value: number): this;
  /** Writes a zig-zag varint. */
  writeVarInt(value: number): this;
  /** Writes an unsigned varint. */
  writeUVarInt(value: number): this;
  /** Writes a zig-zag varlong (a number, string or Long). */
  writeVarLong(value: unknown): this;
  /** Writes length-prefixed bytes (varint length). */
  writeVarIntBytes(value: unknown): this;
  /** Writes a varint count, then the encoders' bytes. */
  writeVarIntArray(values: unknown[], type?: string): this;
  /** Appends another encoder's bytes. */
  writeEncoder(value: Encoder): this;
  /** Appends several encoders' bytes. */
  writeEncoderArray(values: Encoder[]): this;
  /** The size of a zig-zag varint. */
  static sizeOfVarInt(value: number): number;
  /** The size of varint-length-prefixed bytes. */
  static sizeOfVarIntBytes(value: unknown): number;
  /** The size of a zig-zag varlong. */
  static sizeOfVarLong(value: unknown): number;
}
