/**
 * A batch of messages packed for sending: all values in one byte buffer, the
 * keys beside them, and per-type counts so that what was sent can be counted
 * when Kafka acknowledges the batch. Pure.
 */
import { REJECT_REASONS, type RejectReason } from "@activity/shared";

/** Size limits of one batch. */
export interface BatchLimits {
  readonly maxMessages: number;
  /** Bytes of values and keys, plus `PER_MESSAGE_OVERHEAD` each. */
  readonly maxBytes: number;
}

/** Bytes counted per message besides its value and key: Kafka's record framing, generously. */
export const PER_MESSAGE_OVERHEAD = 24;

const encoder = new TextEncoder();

/** Value bytes a new batch has room for; it grows up to its limit (paced batches stay small). */
const INITIAL_CAPACITY = 16 * 1024;

/** Messages ready to send. */
export class OutgoingBatch {
  /** The message keys (user ids). */
  readonly keys: string[] = [];
  /** Offset where each value ends in `bytes`; value i spans [ends[i-1] or 0, ends[i]). */
  readonly ends: Uint32Array;
  /** Valid events per event-type index. */
  readonly typeCounts: Uint32Array;
  /** Malformed messages per index in `REJECT_REASONS`. */
  readonly malformedCounts: Uint32Array = new Uint32Array(REJECT_REASONS.length);
  /** When the first message was added, on the caller's clock (set by the caller). */
  openedAt = NaN;
  readonly #limits: BatchLimits;
  #values: Uint8Array;
  #used = 0;
  #size = 0;

  /** An empty batch for messages of `typeCount` event types. */
  constructor(limits: BatchLimits, typeCount: number) {
    this.#limits = limits;
    this.#values = new Uint8Array(Math.min(INITIAL_CAPACITY, limits.maxBytes));
    this.ends = new Uint32Array(limits.maxMessages);
    this.typeCounts = new Uint32Array(typeCount);
  }

  /** Number of messages. */
  get count(): number {
    return this.keys.length;
  }

  /** Bytes counted against the limit. */
  get size(): number {
    return this.#size;
  }

  /** All value bytes, back to back. */
  get values(): Uint8Array {
    return this.#values.subarray(0, this.#used);
  }

  /** Whether the batch has reached its message limit. */
  get full(): boolean {
    return this.keys.length >= this.#limits.maxMessages;
  }

  /**
   * Adds a message unless it does not fit (then the batch is unchanged and
   * false is returned; an empty batch takes any message that fits at all).
   */
  add(
    key: string,
    value: string | Uint8Array,
    kind: { typeIndex: number; malformed?: RejectReason },
  ): boolean {
    if (this.full) return false;
    const room = this.#limits.maxBytes - this.#used;
    let written: number;
    if (value.length > room) return false;
    if (typeof value === "string") {
      // At least one byte per character; more only for non-ASCII text, then retried once.
      this.#reserve(value.length);
      let result = encoder.encodeInto(value, this.#values.subarray(this.#used));
      if (result.read < value.length) {
        this.#reserve(value.length * 3);
        result = encoder.encodeInto(value, this.#values.subarray(this.#used));
        if (result.read < value.length) return false;
      }
      written = result.written;
    } else {
      this.#reserve(value.length);
      this.#values.set(value, this.#used);
      written = value.length;
    }
    const size = written + key.length + PER_MESSAGE_OVERHEAD;
    if (this.keys.length > 0 && this.#size + size > this.#limits.maxBytes) return false;
    this.#used += written;
    this.#size += size;
    this.ends[this.keys.length] = this.#used;
    this.keys.push(key);
    if (kind.malformed === undefined) this.typeCounts[kind.typeIndex]++;
    else this.malformedCounts[REJECT_REASONS.indexOf(kind.malformed)]++;
    return true;
  }

  /** Grows the buffer (up to the limit) so that `bytes` more fit after what is used. */
  #reserve(bytes: number): void {
    const needed = Math.min(this.#used + bytes, this.#limits.maxBytes);
    if (needed <= this.#values.length) return;
    let capacity = this.#values.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, this.#limits.maxBytes));
    grown.set(this.#values.subarray(0, this.#used));
    this.#values = grown;
  }

  /** The value of message `i`. */
  value(i: number): Uint8Array {
    return this.#values.subarray(i > 0 ? this.ends[i - 1] : 0, this.ends[i]);
  }

  /** Counts of valid events by type name, for summaries and metrics. */
  countsByType(types: readonly string[]): Record<string, number> {
    return Object.fromEntries(types.map((type, i) => [type, this.typeCounts[i]]));
  }
}
