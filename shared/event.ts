/**
 * The canonical user-activity event (version 1) and its wire format.
 *
 * Pure: no I/O. `decode` never throws; every way a message can be wrong is a
 * value of {@link RejectReason}.
 */
import { z } from "zod";

/** The version of the canonical event written by our producers. */
export const EVENT_VERSION = 1;

/** Event types accepted when no other set is configured. */
export const DEFAULT_EVENT_TYPES: readonly string[] = ["click", "view", "scroll"];

/** Largest message value `decode` accepts, in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024;

const SAFE_ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
const EVENT_TYPE = /^[a-z][a-z0-9_]{0,31}$/;
const PAGE = /^\/[\x21-\x7e]{0,255}$/;

const propertyValue = z.union([z.string().max(256), z.number(), z.boolean(), z.null()]);

/** Zod schema of the canonical event; `occurred_at` is normalised to UTC. */
export const activityEventSchema = z.strictObject({
  version: z.literal(EVENT_VERSION),
  event_id: z.uuid(),
  user_id: z.string().regex(SAFE_ID, "1-64 characters from A-Z a-z 0-9 _ . : @ -"),
  session_id: z.string().regex(SAFE_ID, "1-64 characters from A-Z a-z 0-9 _ . : @ -"),
  event_type: z.string().regex(EVENT_TYPE, "a lowercase identifier of at most 32 characters"),
  occurred_at: z.iso.datetime({ offset: true }).transform((value) => toUtcIso(value)),
  page: z.string().regex(PAGE, "a path starting with / of at most 256 printable characters"),
  properties: z.record(z.string().max(64), propertyValue)
    .refine((value) => Object.keys(value).length <= 16, "at most 16 properties")
    .optional(),
});

/** The canonical event as producers write it and the consumer counts it. */
export type ActivityEvent = z.output<typeof activityEventSchema>;

/** The old Python prototype's message shape (no id, timestamp without offset meaning UTC). */
export const legacyEventSchema = z.strictObject({
  user_id: z.union([z.string().regex(SAFE_ID), z.int().nonnegative()]),
  event_type: z.string().regex(EVENT_TYPE, "a lowercase identifier of at most 32 characters"),
  timestamp: z.union([z.iso.datetime({ local: true }), z.iso.datetime({ offset: true })]),
});

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
    /** True when the message had the old prototype's shape. */
    readonly legacy: boolean;
  }
  | { readonly kind: "rejected"; readonly reason: RejectReason; readonly detail: string };

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
    return reject("empty", bytes ? "the message value is empty" : "the message value is null");
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.length > maxBytes) {
    return reject("too_large", `${bytes.length} bytes, at most ${maxBytes} allowed`);
  }
  // The lenient decoder is faster; only text with a replacement character needs the strict one
  // (which fails on invalid input, while a real U+FFFD passes).
  let text = utf8Lenient.decode(bytes);
  if (text.includes("\uFFFD")) {
    try {
      text = utf8.decode(bytes);
    } catch {
      return reject("not_utf8", "the message value is not valid UTF-8");
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return reject("not_json", (error as Error).message.slice(0, 200));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject("not_object", `a JSON object is required, got ${jsonKind(value)}`);
  }
  const record = value as Record<string, unknown>;
  const legacy = !("version" in record) && !("event_id" in record) && "timestamp" in record;
  if (!legacy && record.version !== EVENT_VERSION) {
    return reject(
      "unsupported_version",
      `"version" must be ${EVENT_VERSION}: current value is ${quote(record.version)}`,
    );
  }
  const fast = legacy ? undefined : fastCanonical(record);
  let event = fast?.event;
  let occurredAtMs = fast?.occurredAtMs ?? NaN;
  if (event === undefined) {
    const parsed = legacy ? parseLegacy(record) : activityEventSchema.safeParse(record);
    if (!parsed.success) return reject("schema_violation", describeIssue(parsed.error));
    event = parsed.data;
    occurredAtMs = Date.parse(event.occurred_at);
  }
  const types = options.eventTypes ?? DEFAULT_TYPE_SET;
  if (!types.has(event.event_type)) {
    return reject(
      "unknown_event_type",
      `"event_type" must be one of ${[...types].join(", ")}: current value is ${
        quote(event.event_type)
      }`,
    );
  }
  const tolerance = options.futureToleranceMs ?? 5 * 60_000;
  if (occurredAtMs > options.nowMs + tolerance) {
    return reject(
      "future_timestamp",
      `"occurred_at" ${event.occurred_at} is more than ${tolerance / 1000} s in the future`,
    );
  }
  const maxAge = options.maxAgeMs ?? 30 * 86_400_000;
  if (occurredAtMs < options.nowMs - maxAge) {
    return reject(
      "expired_timestamp",
      `"occurred_at" ${event.occurred_at} is older than the ${
        maxAge / 86_400_000
      }-day retention window`,
    );
  }
  return { kind: "accepted", event, occurredAtMs, legacy };
}

const CANONICAL_KEYS: ReadonlySet<string> = new Set(Object.keys(activityEventSchema.shape));
const UUID = z.regexes.uuid();
const OFFSET_DATETIME = z.regexes.datetime({ offset: true });

/**
 * The hot path of `decode`: the canonical event built exactly as `activityEventSchema` would
 * build it, when `record` is plainly valid; `undefined` whenever there is any doubt, and the
 * schema decides (so every rejection and its detail still come from zod). Checked against the
 * schema on generated inputs in `event_test.ts`.
 */
function fastCanonical(
  record: Record<string, unknown>,
): { event: ActivityEvent; occurredAtMs: number } | undefined {
  for (const key in record) if (!CANONICAL_KEYS.has(key)) return undefined;
  const { event_id, user_id, session_id, event_type, occurred_at, page, properties } = record;
  if (
    record.version !== EVENT_VERSION ||
    typeof event_id !== "string" || !UUID.test(event_id) ||
    typeof user_id !== "string" || !SAFE_ID.test(user_id) ||
    typeof session_id !== "string" || !SAFE_ID.test(session_id) ||
    typeof event_type !== "string" || !EVENT_TYPE.test(event_type) ||
    typeof occurred_at !== "string" || !OFFSET_DATETIME.test(occurred_at) ||
    typeof page !== "string" || !PAGE.test(page)
  ) {
    return undefined;
  }
  const occurredAtMs = Date.parse(occurred_at);
  if (Number.isNaN(occurredAtMs)) return undefined;
  const event: ActivityEvent = {
    version: EVENT_VERSION,
    event_id,
    user_id,
    session_id,
    event_type,
    // Already in toISOString's own form (what our producers write): nothing to normalise.
    occurred_at: occurred_at.length === 24 && occurred_at[19] === "." && occurred_at[23] === "Z"
      ? occurred_at
      : new Date(occurredAtMs).toISOString(),
    page,
  };
  if (properties === undefined) return "properties" in record ? undefined : { event, occurredAtMs };
  const copy = plainProperties(properties);
  return copy === undefined ? undefined : { event: { ...event, properties: copy }, occurredAtMs };
}

function plainProperties(
  value: unknown,
): Record<string, string | number | boolean | null> | undefined {
  if (
    typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return undefined;
  }
  const copy: Record<string, string | number | boolean | null> = {};
  let count = 0;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (
      ++count > 16 || key.length > 64 || key === "__proto__" ||
      !(item === null || typeof item === "boolean" ||
        (typeof item === "number" && Number.isFinite(item)) ||
        (typeof item === "string" && item.length <= 256))
    ) {
      return undefined;
    }
    copy[key] = item;
  }
  return copy;
}

function parseLegacy(
  record: Record<string, unknown>,
): { success: true; data: ActivityEvent } | { success: false; error: z.ZodError } {
  const parsed = legacyEventSchema.safeParse(record);
  if (!parsed.success) return parsed;
  const { user_id, event_type, timestamp } = parsed.data;
  const occurredAt = /(Z|[+-]\d{2}:\d{2})$/i.test(timestamp) ? timestamp : `${timestamp}Z`;
  const userId = String(user_id);
  return {
    success: true,
    data: {
      version: EVENT_VERSION,
      event_id: legacyEventId(`${userId}\u0000${event_type}\u0000${timestamp}`),
      user_id: userId,
      session_id: "legacy",
      event_type,
      occurred_at: toUtcIso(occurredAt),
      page: "/",
    },
  };
}

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

/** Encodes an event as the UTF-8 JSON message value. */
export function encode(event: ActivityEvent): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(event));
}

/** The Kafka message key of an event: its user, so a user's events stay in order. */
export function eventKey(event: Pick<ActivityEvent, "user_id">): string {
  return event.user_id;
}

function toUtcIso(value: string): string {
  return new Date(Date.parse(value)).toISOString();
}

function reject(reason: RejectReason, detail: string): DecodeResult {
  return { kind: "rejected", reason, detail };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.length > 0 ? issue.path.join(".") : "(message)";
  return `${path}: ${issue.message}`.slice(0, 300);
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
