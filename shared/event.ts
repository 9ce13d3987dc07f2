/**
 * The canonical user-activity event (version 1) and its wire format.
 *
 * Pure: no I/O. `decode` never throws; every way a message can be wrong is a
 * value of {@link RejectReason}.
 */
import type { z } from "zod";
import { readCanonicalBytes } from "./event_bytes.ts";
import { readLegacyBytes } from "./event_legacy_bytes.ts";
import { readCanonical } from "./event_fast.ts";
import {
  canonicalFromLegacy,
  LEGACY_FIELDS,
  type LegacyEvent,
  legacyEventOf,
  legacyEventSchema,
  type LegacyRead,
  readLegacyFast,
} from "./event_legacy.ts";
import {
  type ActivityEvent,
  activityEventSchema,
  EVENT_FIELDS,
  EVENT_VERSION,
  type FieldSpec,
  utcIsoMs,
} from "./event_schema.ts";

export {
  type ActivityEvent,
  activityEventSchema,
  EVENT_FIELDS,
  EVENT_TYPE_ALLOWED,
  EVENT_TYPE_PATTERN,
  EVENT_VERSION,
  type EventField,
  type EventFieldName,
  type FieldSpec,
  isRequired,
  PROPERTY_LIMITS,
  SAFE_ID_ALLOWED,
  SAFE_ID_PATTERN,
} from "./event_schema.ts";
export {
  canonicalFromLegacy,
  EPOCH_LIMIT,
  EPOCH_MILLISECONDS_FROM,
  LEGACY_FIELDS,
  type LegacyEvent,
  legacyEventSchema,
  legacyTimestampMs,
} from "./event_legacy.ts";

/** Event types accepted when no other set is configured. */
export const DEFAULT_EVENT_TYPES: readonly string[] = ["click", "view", "scroll"];

/** Largest message value `decode` accepts, in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024;

/** Every reason a message can be rejected for; a closed set. */
export const REJECT_REASONS = [
  "empty",
  "too_large",
  "not_utf8",
  "not_json",
  "not_object",
  "unsupported_version",
  "schema_violation",
  "unknown_event_type",
  "future_timestamp",
  "expired_timestamp",
] as const;

/** Why a message was not counted. */
export type RejectReason = typeof REJECT_REASONS[number];

/** The outcome of decoding one message: an accepted event or a typed rejection. */
export type DecodeResult =
  | {
    readonly kind: "accepted";
    readonly event: ActivityEvent;
    /** `occurred_at` as epoch milliseconds (UTC). */
    readonly occurredAtMs: number;
    readonly legacy: false;
  }
  | {
    readonly kind: "accepted";
    /** The old prototype's fields; `canonicalFromLegacy` makes the canonical event they stand for. */
    readonly event: LegacyEvent;
    /** `timestamp` as epoch milliseconds (UTC). */
    readonly occurredAtMs: number;
    /** The message had the old prototype's shape. */
    readonly legacy: true;
  }
  | { readonly kind: "rejected"; readonly reason: RejectReason; readonly detail: string };

/** The canonical event of an accepted message (an old-prototype one's as `canonicalFromLegacy` makes it). */
export function canonicalEvent(
  accepted: Extract<DecodeResult, { kind: "accepted" }>,
): ActivityEvent {
  return accepted.legacy
    ? canonicalFromLegacy(accepted.event, accepted.occurredAtMs)
    : accepted.event;
}

/** What `decode` checks besides the schema. */
export interface DecodeOptions {
  /** The current time in epoch milliseconds. */
  readonly nowMs: number;
  /** Accepted event types. */
  readonly eventTypes?: ReadonlySet<string>;
  /** How far in the future an event may be, in milliseconds (default 5 minutes). */
  readonly futureToleranceMs?: number;
  /** How old an event may be, in milliseconds (default 30 days). */
  readonly maxAgeMs?: number;
  /** Largest accepted message, in bytes. */
  readonly maxBytes?: number;
}

const DEFAULT_TYPE_SET: ReadonlySet<string> = new Set(DEFAULT_EVENT_TYPES);
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
const utf8Encoder = new TextEncoder();

/** Decodes one message value into an event or a rejection; never throws. */
export function decode(bytes: Uint8Array | null | undefined, options: DecodeOptions): DecodeResult {
  try {
    return decodeUnsafe(bytes, options);
  } catch (error) {
    // Unreachable by design; a bug here must still not stop the consumer.
    return reject("schema_violation", `unexpected decoder failure: ${String(error)}`);
  }
}

function decodeUnsafe(bytes: Uint8Array | null | undefined, options: DecodeOptions): DecodeResult {
  if (bytes === null || bytes === undefined || bytes.length === 0) {
    const what = bytes ? "empty" : "null (a tombstone)";
    return reject("empty", `expected a JSON event, got a value that is ${what}`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.length > maxBytes) {
    return reject("too_large", `expected at most ${maxBytes} bytes, got ${bytes.length} bytes`);
  }
  // What our producers and the old prototype write, read from its bytes; anything else takes the
  // general path below.
  const fast = readCanonicalBytes(bytes) ?? readLegacyBytes(bytes);
  if (fast !== undefined) return judge(fast, options);
  // The lenient decoder is faster; only text with a replacement character needs the strict one
  // (which fails on invalid input, while a real U+FFFD passes).
  let text = utf8Lenient.decode(bytes);
  if (text.includes("\uFFFD")) {
    try {
      text = utf8.decode(bytes);
    } catch {
      return reject("not_utf8", "expected UTF-8 text, got bytes that are not valid UTF-8");
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const problem = (error as Error).message.slice(0, 200);
    return reject("not_json", `expected JSON text (${problem}), got ${quote(text)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const shown = value === null ? "" : ` ${quote(value)}`;
    return reject("not_object", `expected a JSON object, got ${jsonKind(value)}${shown}`);
  }
  const record = value as Record<string, unknown>;
  const legacy = !("version" in record) && !("event_id" in record) && "timestamp" in record;
  if (!legacy && record.version !== EVENT_VERSION) {
    return reject(
      "unsupported_version",
      record.version === undefined
        ? `version: missing; expected ${EVENT_VERSION} (or the old prototype's shape: ` +
          "user_id, event_type, timestamp)"
        : `version: expected ${EVENT_VERSION}, got ${quote(record.version)}`,
    );
  }
  const read = legacy ? readLegacy(record) : readEvent(record);
  if ("kind" in read) return read;
  return judge(read, options);
}

/** A well-formed event, before the checks that depend on the options (an accepted result is one). */
export type ReadEvent =
  | { readonly event: ActivityEvent; readonly occurredAtMs: number; readonly legacy?: false }
  | LegacyRead;

/** The checks of a well-formed event that depend on the options: its type and its time. */
function judge(read: ReadEvent, options: DecodeOptions): DecodeResult {
  const { event, occurredAtMs } = read;
  const types = options.eventTypes ?? DEFAULT_TYPE_SET;
  if (!types.has(event.event_type)) {
    return reject(
      "unknown_event_type",
      `event_type: expected one of ${[...types].join(", ")} (the configured types), got ${
        quote(event.event_type)
      }`,
    );
  }
  const tolerance = options.futureToleranceMs ?? 5 * 60_000;
  if (occurredAtMs > options.nowMs + tolerance) {
    return reject(
      "future_timestamp",
      `${eventTimeField(read)}: expected at most ${
        tolerance / 1000
      } s after the consumer's clock (${new Date(options.nowMs).toISOString()}), got ${
        eventTimeAsWritten(read)
      }`,
    );
  }
  const maxAge = options.maxAgeMs ?? 30 * 86_400_000;
  if (occurredAtMs < options.nowMs - maxAge) {
    return reject(
      "expired_timestamp",
      `${eventTimeField(read)}: expected within the ${
        maxAge / 86_400_000
      }-day retention window (from ${new Date(options.nowMs - maxAge).toISOString()}), got ${
        eventTimeAsWritten(read)
      }`,
    );
  }
  return read.legacy
    ? { kind: "accepted", event: read.event, occurredAtMs, legacy: true }
    : { kind: "accepted", event: read.event, occurredAtMs, legacy: false };
}

/** The field that holds an event's time in its shape: `occurred_at`, or the old `timestamp`. */
export function eventTimeField(read: ReadEvent): string {
  return read.legacy ? "timestamp" : "occurred_at";
}

/** An event's time as its message wrote it, for rejection details. */
export function eventTimeAsWritten(read: ReadEvent): string {
  return read.legacy ? quote(read.event.timestamp) : read.event.occurred_at;
}

type Rejection = Extract<DecodeResult, { kind: "rejected" }>;
type Read = ReadEvent | Rejection;

function readEvent(record: Record<string, unknown>): Read {
  // occurred_at is in toISOString's form here, whichever way was taken.
  const fast = readCanonical(record);
  if (fast !== undefined) return { event: fast, occurredAtMs: utcIsoMs(fast.occurred_at) };
  const parsed = activityEventSchema.safeParse(record);
  if (!parsed.success) {
    return reject("schema_violation", describeIssue(parsed.error, record, EVENT_FIELDS));
  }
  return { event: parsed.data, occurredAtMs: utcIsoMs(parsed.data.occurred_at) };
}

function readLegacy(record: Record<string, unknown>): Read {
  const fast = readLegacyFast(record);
  if (fast !== undefined) return fast;
  const parsed = legacyEventSchema.safeParse(record);
  if (!parsed.success) {
    return reject("schema_violation", describeIssue(parsed.error, record, LEGACY_FIELDS));
  }
  return legacyEventOf(parsed.data);
}

/** Encodes an event as the UTF-8 JSON message value. */
export function encode(event: ActivityEvent): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(event));
}

/** The Kafka message key of an event: its user, so a user's events stay in order. */
export function eventKey(event: Pick<ActivityEvent, "user_id">): string {
  return event.user_id;
}

function reject(reason: RejectReason, detail: string): Rejection {
  return { kind: "rejected", reason, detail };
}

/** Longest rejection detail, in characters. */
const MAX_DETAIL = 400;

/** The first problem zod found, as "<field>: expected <what is allowed>, got <value>". */
function describeIssue(
  error: z.ZodError,
  record: Record<string, unknown>,
  fields: readonly FieldSpec[],
): string {
  const issue = error.issues[0];
  const [name, entry] = issue.path.map(String);
  const spec = fields.find((candidate) => candidate.name === name);
  let detail: string;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    detail = `${key}: expected no such field (the fields are ${
      fields.map((spec) => spec.name).join(", ")
    }), got ${quote(record[key])}`;
  } else if (spec === undefined) {
    // Not reachable with the shapes above; still say what zod said.
    detail = `${issue.path.join(".") || "(message)"}: ${issue.message}`;
  } else if (entry === undefined || spec.entries === undefined) {
    detail = record[name] === undefined
      ? `${name}: missing; expected ${spec.allowed}`
      : `${name}: expected ${spec.allowed}, got ${quote(record[name])}`;
  } else if (issue.code === "invalid_key") {
    detail = `${name}: expected keys of ${spec.entries.key}, got ${quote(entry)}`;
  } else {
    const value = (record[name] as Record<string, unknown>)[entry];
    detail = `${name}.${entry}: expected ${spec.entries.value}, got ${quote(value)}`;
  }
  return detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail;
}

function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function quote(value: unknown): string {
  const text = value === undefined ? "missing" : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
