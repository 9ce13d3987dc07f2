/**
 * The hot path of `decode` for what our producers write: the canonical event as compact JSON in
 * the schema's field order (`JSON.stringify` of it), read from its bytes taken one character per
 * byte. Each field is checked as it is found, with byte classes read from the schema's own
 * patterns (`event_bytes_test.ts` holds the reader to the general path's verdicts), so there is
 * no UTF-8 to decode, no object for `JSON.parse` to build and walk, and no pattern to run. Any
 * doubt (another order, whitespace, an escape, a byte beyond ASCII, a schema with other fields)
 * returns `undefined`, and the general path decides as before. Pure.
 */
import {
  type ActivityEvent,
  daysFromCivil,
  digits,
  EVENT_FIELDS,
  EVENT_TYPE_PATTERN,
  EVENT_VERSION,
  isRequired,
  PAGE_PATTERN,
  SAFE_ID_PATTERN,
} from "./event_schema.ts";

const QUOTE = 0x22;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const BACKSLASH = 0x5c;

// The byte classes of the patterns, read from the patterns themselves, one character at a time;
// a backslash is never in one (it would start an escape).
/** Bytes of a user or session id (`SAFE_ID_PATTERN`, 1-64 of them). */
const SAFE_ID = byteClass((c) => SAFE_ID_PATTERN.test(c));
/** The first byte of an event type, and the rest (`EVENT_TYPE_PATTERN`, at most 32). */
const TYPE_FIRST = byteClass((c) => EVENT_TYPE_PATTERN.test(c));
const TYPE_REST = byteClass((c) => EVENT_TYPE_PATTERN.test(`a${c}`));
/** The bytes of a page after its leading / (`PAGE_PATTERN`, at most 256 in all). */
const PAGE_REST = byteClass((c) => PAGE_PATTERN.test(`/${c}`));
const HEX = byteClass((c) => /^[0-9a-fA-F]$/.test(c));

/** The layout this reader knows: the fields, in order, with which must be there. */
const LAYOUT = [
  "version:required",
  "event_id:required",
  "user_id:required",
  "session_id:required",
  "event_type:required",
  "occurred_at:required",
  "page:required",
  "properties:optional",
];
// A field added to (or changed in) the schema turns this reader off, never lets it skip a field:
// every message then takes the general path.
const LAYOUT_HOLDS =
  EVENT_FIELDS.map((spec) => `${spec.name}:${isRequired(spec) ? "required" : "optional"}`)
    .join() === LAYOUT.join();
const HEAD = `{"version":${EVENT_VERSION},"event_id":"`;
const HEAD_BYTES = Uint8Array.from(HEAD, (c) => c.charCodeAt(0));
const PROPERTIES_CHECK = EVENT_FIELDS.find((spec) => spec.name === "properties")!
  .read as (value: unknown) => unknown;

/**
 * The canonical event in `message` and its time in epoch milliseconds when they are the compact,
 * plainly valid JSON our producers write; `undefined` when in doubt.
 */
export function readCanonicalBytes(
  message: Uint8Array,
): { event: ActivityEvent; occurredAtMs: number } | undefined {
  // Other shapes (the old prototype's, other clients') leave here, before any text is made.
  if (!LAYOUT_HOLDS || !startsWithBytes(message, HEAD_BYTES)) return undefined;
  // One character per byte: a byte beyond ASCII is a character no byte class allows.
  const text = ascii(message);
  let at = HEAD.length;
  let end = text.indexOf('"', at);
  if (!isUuid(text, at, end)) return undefined;
  const eventId = text.slice(at, end);
  at = field(text, end, ',"user_id":"');
  end = text.indexOf('"', at);
  if (!isSafeId(text, at, end)) return undefined;
  const userId = text.slice(at, end);
  at = field(text, end, ',"session_id":"');
  end = text.indexOf('"', at);
  if (!isSafeId(text, at, end)) return undefined;
  const sessionId = text.slice(at, end);
  at = field(text, end, ',"event_type":"');
  end = text.indexOf('"', at);
  if (!isEventType(text, at, end)) return undefined;
  const eventType = text.slice(at, end);
  at = field(text, end, ',"occurred_at":"');
  end = text.indexOf('"', at);
  const occurredAtMs = end - at === 24 ? isoMs(text, at) : NaN;
  if (Number.isNaN(occurredAtMs)) return undefined;
  const occurredAt = text.slice(at, end);
  at = field(text, end, ',"page":"');
  end = text.indexOf('"', at);
  if (!isPage(text, at, end)) return undefined;
  const page = text.slice(at, end);
  at = end + 1;
  const event: Record<string, unknown> = {
    version: EVENT_VERSION,
    event_id: eventId,
    user_id: userId,
    session_id: sessionId,
    event_type: eventType,
    occurred_at: occurredAt,
    page,
  };
  if (at === text.length - 1 && text.charCodeAt(at) === CLOSE) {
    return { event: event as ActivityEvent, occurredAtMs };
  }
  if (!text.startsWith(',"properties":', at)) return undefined;
  at += 14;
  end = propertiesEnd(text, at);
  if (end !== text.length - 1 || text.charCodeAt(end) !== CLOSE) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(at, end));
  } catch {
    return undefined;
  }
  const properties = PROPERTIES_CHECK(parsed);
  if (properties === undefined) return undefined;
  event.properties = properties;
  return { event: event as ActivityEvent, occurredAtMs };
}

/** Where the value after `key` starts, when `key` follows the string that ended at `end`; -1 if not. */
function field(text: string, end: number, key: string): number {
  return end >= 0 && text.startsWith(key, end + 1) ? end + 1 + key.length : -1;
}

/**
 * The end (just past the closing brace) of the `properties` object at `at`, when it holds no
 * nested value, escape, control character or byte beyond ASCII (`JSON.parse` then reads it and
 * the field's own reader judges it, as on the general path); -1 otherwise.
 */
function propertiesEnd(text: string, at: number): number {
  if (text.charCodeAt(at) !== OPEN) return -1;
  let inString = false;
  for (let i = at + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80 || code < 0x20 || code === BACKSLASH) return -1;
    if (code === QUOTE) inString = !inString;
    else if (!inString && (code === OPEN || code === 0x5b)) return -1;
    else if (!inString && code === CLOSE) return i + 1;
  }
  return -1;
}

/** The UUID pattern's usual form: 8-4-4-4-12 hex digits, version 1-8, variant 8, 9, a or b. */
function isUuid(text: string, start: number, end: number): boolean {
  if (start < 0 || end - start !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const byte = text.charCodeAt(start + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (byte !== 0x2d) return false;
    } else if (i === 14) {
      if (byte < 0x31 || byte > 0x38) return false;
    } else if (i === 19) {
      const lower = byte | 0x20;
      if (!(byte === 0x38 || byte === 0x39 || lower === 0x61 || lower === 0x62)) return false;
    } else if (HEX[byte] !== 1) {
      return false;
    }
  }
  return true;
}

/**
 * Epoch milliseconds of `YYYY-MM-DDTHH:MM:SS.mmmZ` at `start` when it is a real date and time
 * (the form `toISOString` writes), else NaN.
 */
function isoMs(text: string, start: number): number {
  if (
    start < 0 ||
    text.charCodeAt(start + 4) !== 0x2d || text.charCodeAt(start + 7) !== 0x2d ||
    text.charCodeAt(start + 10) !== 0x54 || text.charCodeAt(start + 13) !== 0x3a ||
    text.charCodeAt(start + 16) !== 0x3a || text.charCodeAt(start + 19) !== 0x2e ||
    text.charCodeAt(start + 23) !== 0x5a
  ) {
    return NaN;
  }
  return civilMs(text, start, digits(text, start + 20, 3));
}

/**
 * Epoch milliseconds of the date and time whose digits are at `start` in the ISO layout
 * (`YYYY-MM-DD?HH:MM:SS`, separators already checked) plus `milli`, when every part is a number
 * in its range (a real day of its month, seconds below 60); else NaN.
 */
export function civilMs(text: string, start: number, milli: number): number {
  const year = digits(text, start, 4);
  const month = digits(text, start + 5, 2);
  const day = digits(text, start + 8, 2);
  const hour = digits(text, start + 11, 2);
  const minute = digits(text, start + 14, 2);
  const second = digits(text, start + 17, 2);
  if (
    !(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
      hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 &&
      second <= 59 && milli >= 0)
  ) {
    return NaN;
  }
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 +
    second * 1000 + milli;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Whether `text` from `start` to `end` is a user or session id (`SAFE_ID_PATTERN`). */
export function isSafeId(text: string, start: number, end: number): boolean {
  return start >= 0 && end - start >= 1 && end - start <= 64 && all(text, start, end, SAFE_ID);
}

/** Whether `text` from `start` to `end` is an event type (`EVENT_TYPE_PATTERN`). */
export function isEventType(text: string, start: number, end: number): boolean {
  return start >= 0 && end - start >= 1 && end - start <= 32 &&
    TYPE_FIRST[text.charCodeAt(start)] === 1 && all(text, start + 1, end, TYPE_REST);
}

function isPage(text: string, start: number, end: number): boolean {
  return start >= 0 && end - start >= 1 && end - start <= 256 && text.charCodeAt(start) === 0x2f &&
    all(text, start + 1, end, PAGE_REST);
}

/** Whether `bytes` begin with `prefix`. */
export function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}

function all(text: string, start: number, end: number, allowed: Uint8Array): boolean {
  for (let i = start; i < end; i++) {
    if (allowed[text.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

/** A table of the ASCII bytes whose character `allows` takes (1), the rest 0. */
function byteClass(allows: (character: string) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 128; byte++) {
    table[byte] = byte !== BACKSLASH && allows(String.fromCharCode(byte)) ? 1 : 0;
  }
  return table;
}

/**
 * The bytes as text, one character per byte (ASCII stays itself, every other byte becomes a
 * character beyond ASCII): Node's `Buffer`, what Kafka clients hand over, has a native way.
 */
export function ascii(bytes: Uint8Array): string {
  const buffer = bytes as Uint8Array & { latin1Slice?: (start: number, end: number) => string };
  if (typeof buffer.latin1Slice === "function") return buffer.latin1Slice(0, bytes.length);
  return windows1252.decode(bytes);
}
const windows1252 = new TextDecoder("latin1");
