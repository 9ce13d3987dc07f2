/**
 * The old Python prototype's message shape (`user_id`, `event_type`,
 * `timestamp`), accepted as it was written: the timestamp as Python's
 * `isoformat()` or `str()` writes a datetime (no offset meaning UTC), or as
 * epoch seconds or milliseconds. Pure.
 */
import { z } from "zod";
import {
  type ActivityEvent,
  EVENT_TYPE_ALLOWED,
  EVENT_TYPE_PATTERN,
  EVENT_VERSION,
  type FieldSpec,
  SAFE_ID_ALLOWED,
  SAFE_ID_PATTERN,
  shapeOf,
} from "./event_schema.ts";

/**
 * Epoch timestamps at or above this are milliseconds, below it seconds. Every
 * instant from 1973-03-03 to 5138-11-16 is below it in seconds and at or above
 * it in milliseconds, so no event of these 3000 years can be read the wrong way.
 */
export const EPOCH_MILLISECONDS_FROM = 1e11;

/**
 * Epoch timestamps must be below this (5138-11-16 in milliseconds): larger
 * numbers are microseconds or nanoseconds, which are refused rather than guessed.
 */
export const EPOCH_LIMIT = 1e14;

/** A power of ten as "1e11". */
function power(value: number): string {
  return `1e${Math.round(Math.log10(value))}`;
}

/** The date-time forms of ISO 8601 that `timestamp` takes, after a space is read as "T". */
const DATETIME_PATTERN = z.regexes.datetime({ local: true, offset: true });
const WITH_OFFSET = /(?:Z|[+-]\d{2}:\d{2})$/;

/** The instant of an old-prototype `timestamp` in epoch milliseconds, or `undefined` if it is none. */
export function legacyTimestampMs(value: unknown): number | undefined {
  if (typeof value === "number") {
    if (!(Number.isFinite(value) && value >= 0 && value < EPOCH_LIMIT)) return undefined;
    if (value >= EPOCH_MILLISECONDS_FROM) return Math.floor(value);
    // Rounded to microseconds first: a float such as 1780000000.123 is 1780000000122.9999 × 1000.
    return Math.floor(Math.round(value * 1e6) / 1000);
  }
  if (typeof value !== "string") return undefined;
  // Python's str(datetime) puts a space where isoformat() puts "T".
  const iso = value[10] === " " ? `${value.slice(0, 10)}T${value.slice(11)}` : value;
  if (!DATETIME_PATTERN.test(iso)) return undefined;
  const ms = Date.parse(WITH_OFFSET.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The old prototype's fields. */
export const LEGACY_FIELDS = [
  {
    name: "user_id",
    type: "string or integer",
    allowed: `${SAFE_ID_ALLOWED}, or a non-negative integer (counted as its decimal text)`,
    schema: z.union([z.string().regex(SAFE_ID_PATTERN), z.int().nonnegative()]),
  },
  {
    name: "event_type",
    type: "string",
    allowed: EVENT_TYPE_ALLOWED,
    schema: z.string().regex(EVENT_TYPE_PATTERN),
  },
  {
    name: "timestamp",
    type: "string or number",
    allowed: 'an ISO 8601 date-time ("T" or a space before the time; no offset means UTC) or ' +
      `epoch seconds/milliseconds (a number: seconds below ${power(EPOCH_MILLISECONDS_FROM)}, ` +
      `milliseconds from ${power(EPOCH_MILLISECONDS_FROM)} to below ${power(EPOCH_LIMIT)})`,
    schema: z.union([z.string(), z.number()]).refine((value) =>
      legacyTimestampMs(value) !== undefined
    ),
  },
] as const satisfies readonly FieldSpec[];

/** The old Python prototype's message shape (no id; a timestamp without offset means UTC). */
export const legacyEventSchema = z.strictObject(shapeOf(LEGACY_FIELDS));

/** An old-prototype message as read: its user as text, its type, and its timestamp as written. */
export interface LegacyEvent {
  readonly user_id: string;
  readonly event_type: string;
  readonly timestamp: string | number;
}

/** An old-prototype message as read, with its instant. */
export interface LegacyRead {
  readonly event: LegacyEvent;
  /** `timestamp` as epoch milliseconds (UTC). */
  readonly occurredAtMs: number;
  readonly legacy: true;
}

/** A valid old-prototype message (the schema's output) as read, with its instant. */
export function legacyEventOf(
  legacy: z.output<typeof legacyEventSchema>,
): LegacyRead {
  const { user_id, event_type, timestamp } = legacy;
  return {
    event: { user_id: String(user_id), event_type, timestamp },
    occurredAtMs: legacyTimestampMs(timestamp)!,
    legacy: true,
  };
}

/**
 * The canonical event an old-prototype message stands for: an id derived from its content, its
 * instant in UTC, session "legacy" and page "/". Counting needs none of these (the id's hash
 * alone took longer than reading the message), so `decode` leaves it to those who do.
 */
export function canonicalFromLegacy(event: LegacyEvent, occurredAtMs: number): ActivityEvent {
  const { user_id, event_type, timestamp } = event;
  return {
    version: EVENT_VERSION,
    event_id: legacyEventId(`${user_id}\u0000${event_type}\u0000${timestamp}`),
    user_id,
    session_id: "legacy",
    event_type,
    occurred_at: new Date(occurredAtMs).toISOString(),
    page: "/",
  };
}

/**
 * The old-prototype message in `record` as read when it is plainly valid,
 * `undefined` whenever in doubt (the schema then decides, and words the rejection): the same
 * checks as `legacyEventSchema`, without its cost for every event.
 */
export function readLegacyFast(
  record: Record<string, unknown>,
): LegacyRead | undefined {
  let fields = 0;
  for (const key in record) {
    if (key !== "user_id" && key !== "event_type" && key !== "timestamp") return undefined;
    fields++;
  }
  const { user_id, event_type, timestamp } = record;
  const validUser = typeof user_id === "string"
    ? SAFE_ID_PATTERN.test(user_id)
    : Number.isSafeInteger(user_id) && (user_id as number) >= 0;
  if (
    fields !== 3 || !validUser || typeof event_type !== "string" ||
    !EVENT_TYPE_PATTERN.test(event_type) ||
    (typeof timestamp !== "string" && typeof timestamp !== "number")
  ) {
    return undefined;
  }
  const occurredAtMs = legacyTimestampMs(timestamp);
  if (occurredAtMs === undefined) return undefined;
  return { event: { user_id: String(user_id), event_type, timestamp }, occurredAtMs, legacy: true };
}

const utf8Encoder = new TextEncoder();

/** A deterministic UUID (version 8) for a legacy message, derived from its content. */
function legacyEventId(content: string): string {
  // Two independent 64-bit FNV-1a hashes give 128 bits; legacy messages carry no id.
  let a = 0xcbf29ce484222325n;
  let b = 0x84222325cbf29ce4n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (const byte of utf8Encoder.encode(content)) {
    a = ((a ^ BigInt(byte)) * prime) & mask;
    b = ((b ^ BigInt(byte ^ 0x5a)) * prime) & mask;
  }
  const hex = a.toString(16).padStart(16, "0") + b.toString(16).padStart(16, "0");
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${
    hex.slice(17, 20)
  }-${hex.slice(20, 32)}`;
}
