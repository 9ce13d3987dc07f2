/**
 * Kafka's wire primitives, pure: big-endian integers, unsigned varints, (compact) strings and
 * arrays, UUIDs, tagged fields and size-prefixed frames. Every length read from the wire is
 * checked against the bytes actually left, so a corrupt length fails instead of allocating.
 */

/** Bytes that do not decode as the Kafka message they claim to be. */
export class KafkaWireError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "KafkaWireError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const UINT32_LIMIT = 2 ** 32;

// Kafka caps every string at an int16 length, compact ones included.
function stringBytes(value: string): Uint8Array {
  const bytes = encoder.encode(value);
  if (bytes.length > 0x7fff) {
    throw new RangeError(`A string must be at most 32767 UTF-8 bytes: got ${bytes.length}`);
  }
  return bytes;
}

/** Appends Kafka primitives to a growing buffer. */
export class WireWriter {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #length = 0;

  /** A one-byte boolean (0 or 1). */
  bool(value: boolean): this {
    this.#reserve(1)[0] = value ? 1 : 0;
    return this;
  }

  /** A big-endian signed 16-bit integer. */
  int16(value: number): this {
    this.#view.setInt16(this.#claim(2), value);
    return this;
  }

  /** A big-endian signed 32-bit integer. */
  int32(value: number): this {
    this.#view.setInt32(this.#claim(4), value);
    return this;
  }

  /** An unsigned varint (7 bits a byte, low bits first), 0 to 2^32 - 1. */
  uvarint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value >= UINT32_LIMIT) {
      throw new RangeError(`An unsigned varint must be an integer in [0, 2^32): got ${value}`);
    }
    let rest = value;
    while (rest >= 0x80) {
      this.#reserve(1)[0] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.#reserve(1)[0] = rest;
    return this;
  }

  /** Raw bytes, no length prefix. */
  raw(bytes: Uint8Array): this {
    this.#reserve(bytes.length).set(bytes);
    return this;
  }

  /** A UUID given as 32 hex digits, dashes allowed. */
  uuid(text: string): this {
    return this.raw(uuidBytes(text));
  }

  /** A nullable string with an int16 length (-1 = null). */
  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = stringBytes(value);
    return this.int16(bytes.length).raw(bytes);
  }

  /** A nullable compact string: uvarint length + 1 (0 = null), then UTF-8. */
  compactString(value: string | null): this {
    if (value === null) return this.uvarint(0);
    const bytes = stringBytes(value);
    return this.uvarint(bytes.length + 1).raw(bytes);
  }

  /** The length prefix of a nullable compact array: count + 1 (0 = null). */
  compactArrayLength(count: number | null): this {
    return this.uvarint(count === null ? 0 : count + 1);
  }

  /** An empty tagged-field section (this client never sends tagged fields). */
  noTaggedFields(): this {
    return this.uvarint(0);
  }

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  #claim(size: number): number {
    this.#reserve(size);
    return this.#length - size;
  }

  #reserve(size: number): Uint8Array {
    const needed = this.#length + size;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    const slot = this.#bytes.subarray(this.#length, needed);
    this.#length = needed;
    return slot;
  }
}

/** Reads Kafka primitives from a byte array, failing with `KafkaWireError` past its end. */
export class WireReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  /** Reads `bytes` from the start. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** How many bytes are left. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** A one-byte boolean; anything but 0 or 1 is malformed. */
  bool(what: string): boolean {
    const byte = this.#bytes[this.#take(1, what)];
    if (byte > 1) throw new KafkaWireError(`${what}: a boolean must be 0 or 1, got ${byte}`);
    return byte === 1;
  }

  /** A big-endian signed 16-bit integer. */
  int16(what: string): number {
    return this.#view.getInt16(this.#take(2, what));
  }

  /** A big-endian signed 32-bit integer. */
  int32(what: string): number {
    return this.#view.getInt32(this.#take(4, what));
  }

  /** An unsigned varint of at most 5 bytes (values below 2^32). */
  uvarint(what: string): number {
    let value = 0;
    for (let index = 0; index < 5; index++) {
      const byte = this.#bytes[this.#take(1, what)];
      value += (byte & 0x7f) * 2 ** (7 * index);
      if ((byte & 0x80) === 0) {
        if (value >= UINT32_LIMIT) throw new KafkaWireError(`${what}: varint exceeds 32 bits`);
        return value;
      }
    }
    throw new KafkaWireError(`${what}: varint longer than 5 bytes`);
  }

  /** 16 bytes as canonical UUID text (8-4-4-4-12 lowercase hex). */
  uuid(what: string): string {
    const start = this.#take(16, what);
    return uuidText(this.#bytes.subarray(start, start + 16));
  }

  /** A nullable string with an int16 length. */
  string(what: string): string | null {
    const length = this.int16(what);
    if (length === -1) return null;
    if (length < 0) throw new KafkaWireError(`${what}: string length ${length} is negative`);
    return this.#utf8(length, what);
  }

  /** A nullable compact string. */
  compactString(what: string): string | null {
    const lengthPlusOne = this.uvarint(what);
    return lengthPlusOne === 0 ? null : this.#utf8(lengthPlusOne - 1, what);
  }

  /**
   * The element count of an int32-prefixed array (-1 = null). `minElementBytes` bounds the count
   * by the bytes left, so a corrupt count cannot make the caller loop billions of times.
   */
  arrayLength(what: string, minElementBytes: number): number | null {
    const count = this.int32(what);
    if (count === -1) return null;
    if (count < 0) throw new KafkaWireError(`${what}: array length ${count} is negative`);
    return this.#plausibleCount(count, minElementBytes, what);
  }

  /** The element count of a nullable compact array, bounded like `arrayLength`. */
  compactArrayLength(what: string, minElementBytes: number): number | null {
    const countPlusOne = this.uvarint(what);
    if (countPlusOne === 0) return null;
    return this.#plausibleCount(countPlusOne - 1, minElementBytes, what);
  }

  /** Skips a tagged-field section: this client needs none of the optional tagged fields. */
  skipTaggedFields(what: string): void {
    const count = this.uvarint(`${what} tagged field count`);
    this.#plausibleCount(count, 2, `${what} tagged fields`);
    for (let index = 0; index < count; index++) {
      this.uvarint(`${what} tag`);
      this.#take(this.uvarint(`${what} tagged field size`), `${what} tagged field`);
    }
  }

  /** Fails unless every byte was read: leftovers mean the message was misunderstood. */
  expectEnd(what: string): void {
    if (this.remaining !== 0) {
      throw new KafkaWireError(`${what}: ${this.remaining} unexpected bytes after the message`);
    }
  }

  #plausibleCount(count: number, minElementBytes: number, what: string): number {
    if (count * minElementBytes > this.remaining) {
      throw new KafkaWireError(
        `${what}: ${count} elements cannot fit in the ${this.remaining} bytes left`,
      );
    }
    return count;
  }

  #utf8(length: number, what: string): string {
    const start = this.#take(length, what);
    try {
      return decoder.decode(this.#bytes.subarray(start, start + length));
    } catch {
      throw new KafkaWireError(`${what}: string is not valid UTF-8`);
    }
  }

  #take(size: number, what: string): number {
    if (size > this.remaining) {
      throw new KafkaWireError(
        `${what}: needs ${size} bytes at offset ${this.#offset}, only ${this.remaining} left`,
      );
    }
    const start = this.#offset;
    this.#offset += size;
    return start;
  }
}

/** The all-zero UUID, which Kafka uses for "no topic id". */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

/** 16 bytes as canonical UUID text. */
export function uuidText(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** UUID text (32 hex digits, dashes allowed) as 16 bytes. */
export function uuidBytes(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    throw new RangeError(`A UUID must be 32 hex digits: got "${text}"`);
  }
  return Uint8Array.from(
    { length: 16 },
    (_, index) => parseInt(hex.slice(index * 2, index * 2 + 2), 16),
  );
}

/** Prefixes a message with its int32 size, as every Kafka request and response is sent. */
export function sizeFramed(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(4 + message.length);
  new DataView(framed.buffer).setInt32(0, message.length);
  framed.set(message, 4);
  return framed;
}

/**
 * Collects one size-prefixed frame from chunks as they arrive from a socket. The size is checked
 * before anything is allocated for it; bytes beyond the frame are an error, because a client
 * with one request in flight is owed exactly one response.
 */
export class FrameAssembler {
  readonly #maxBytes: number;
  readonly #prefix = new Uint8Array(4);
  #prefixLength = 0;
  #frame: Uint8Array | undefined;
  #frameLength = 0;

  /** Accepts frames of 4 to `maxBytes` bytes (the 4-byte minimum is a correlation id). */
  constructor(options: { maxBytes: number }) {
    this.#maxBytes = options.maxBytes;
  }

  /** How many bytes have arrived, size prefix included. */
  get received(): number {
    return this.#prefixLength + this.#frameLength;
  }

  /** The frame's size once its prefix arrived. */
  get expected(): number | undefined {
    return this.#frame?.length;
  }

  /** Adds a chunk; returns the frame (without its size) once complete. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    let rest = chunk;
    if (this.#frame === undefined) {
      const taken = Math.min(4 - this.#prefixLength, rest.length);
      this.#prefix.set(rest.subarray(0, taken), this.#prefixLength);
      this.#prefixLength += taken;
      rest = rest.subarray(taken);
      if (this.#prefixLength < 4) return undefined;
      const size = new DataView(this.#prefix.buffer).getInt32(0);
      if (size < 4 || size > this.#maxBytes) {
        throw new KafkaWireError(
          `response size ${size} is outside the accepted 4 to ${this.#maxBytes} bytes`,
        );
      }
      this.#frame = new Uint8Array(size);
    }
    const missing = this.#frame.length - this.#frameLength;
    if (rest.length > missing) {
      throw new KafkaWireError(
        `${rest.length - missing} bytes arrived beyond the ${this.#frame.length}-byte response`,
      );
    }
    this.#frame.set(rest, this.#frameLength);
    this.#frameLength += rest.length;
    return this.#frameLength === this.#frame.length ? this.#frame : undefined;
  }
}
