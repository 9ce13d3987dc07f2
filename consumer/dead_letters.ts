/**
 * Dead letters, pure: how a rejected message is written to the dead-letter
 * topic (its original key and value, bounded, with headers saying why and
 * where it came from), how rejections are packed into produce requests the
 * broker accepts, and the smaller form sent when the broker refuses one.
 */
import { Buffer } from "node:buffer";
import type { Rejection } from "./aggregate.ts";

/** What bounds a dead letter. */
export interface DeadLetterLimits {
  /** Key bytes kept (a longer key is cut and marked). */
  readonly keyBytes: number;
  /** Value bytes kept (a longer value is cut and marked). */
  readonly valueBytes: number;
}

/** The first form: within the broker's default 1 MB message limit. */
export const DEAD_LETTER_LIMITS: DeadLetterLimits = { keyBytes: 16 * 1024, valueBytes: 900 * 1024 };

/** The form sent after the broker refused the first (a topic with a smaller size limit). */
export const SMALL_DEAD_LETTER_LIMITS: DeadLetterLimits = { keyBytes: 1024, valueBytes: 16 * 1024 };

/** Most messages, and most key and value bytes, in one dead-letter produce request. */
const REQUEST_MESSAGES = 1_000;
const REQUEST_BYTES = 900 * 1024;

/** A dead letter as the Kafka client sends it. */
export interface DeadLetterMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string | Buffer>;
}

/** What became of one rejection's dead letter (stored in `rejected_events.dead_letter`). */
export type DeadLetterOutcome = "sent" | "sent cut" | `refused: ${string}`;

/** Builds the dead letter of a rejection within `limits`. */
export function deadLetterMessage(
  rejection: Rejection,
  limits: DeadLetterLimits = DEAD_LETTER_LIMITS,
): DeadLetterMessage {
  const { key, value } = rejection;
  const cutKey = key !== null && key.length > limits.keyBytes;
  const cutValue = value !== null && value.length > limits.valueBytes;
  return {
    key: key === null ? null : asBuffer(key.subarray(0, limits.keyBytes)),
    value: value === null ? null : asBuffer(value.subarray(0, limits.valueBytes)),
    headers: {
      "reject-reason": rejection.reason,
      "reject-detail": Buffer.from(rejection.detail),
      "source-topic": rejection.topic,
      "source-partition": String(rejection.partition),
      "source-offset": rejection.offset,
      "source-timestamp": String(rejection.timestampMs),
      "original-bytes": String(value?.length ?? 0),
      "original-key-bytes": String(key?.length ?? 0),
      // Which part was cut shows in the original sizes against what arrived.
      ...(cutKey || cutValue ? { "truncated": "true" } : {}),
    },
  };
}

/** Whether a rejection's dead letter is cut at `limits`. */
export function isCut(
  rejection: Rejection,
  limits: DeadLetterLimits = DEAD_LETTER_LIMITS,
): boolean {
  return (rejection.key?.length ?? 0) > limits.keyBytes ||
    (rejection.value?.length ?? 0) > limits.valueBytes;
}

/**
 * Splits rejections into produce requests the broker accepts: it refuses a record batch over
 * its message size limit (1 MB by default), so large ones go in requests of their own.
 */
export function deadLetterRequests(rejections: readonly Rejection[]): Rejection[][] {
  const requests: Rejection[][] = [];
  let current: Rejection[] = [];
  let bytes = 0;
  for (const rejection of rejections) {
    const size = Math.min(rejection.value?.length ?? 0, DEAD_LETTER_LIMITS.valueBytes) +
      Math.min(rejection.key?.length ?? 0, DEAD_LETTER_LIMITS.keyBytes) +
      rejection.detail.length + 256;
    if (
      current.length > 0 && (current.length >= REQUEST_MESSAGES || bytes + size > REQUEST_BYTES)
    ) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(rejection);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * The dead-letter topic's partition of a message: its source partition modulo the topic's
 * partitions, so one partition's dead letters stay in order — and the key is never hashed (the
 * Kafka client's hash takes time quadratic in the key's length: a megabyte key stalled it).
 */
export function deadLetterPartition(
  headers: DeadLetterMessage["headers"],
  partitions: number,
): number {
  const source = Number(String(headers["source-partition"] ?? "0"));
  return Number.isSafeInteger(source) && source >= 0 ? source % Math.max(1, partitions) : 0;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
