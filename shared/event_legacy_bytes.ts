/**
 * The hot path of `decode` for the old prototype's messages as Python's `json.dumps` writes them:
 * `{"user_id": ..., "event_type": ..., "timestamp": ...}` in that order, compact or with its
 * default separators (`", "` and `": "`), the user as an id or a plain integer and the time as
 * `isoformat()` or `str()` writes a datetime without an offset (UTC). Read from the bytes, one
 * character per byte, with the same checks as the general path (`event_legacy_bytes_test.ts`
 * holds it to that path's verdicts); anything else returns `undefined` and the general path
 * decides as before. Pure.
 */
import { ascii, civilMs, isEventType, isSafeId, startsWithBytes } from "./event_bytes.ts";
import type { LegacyRead } from "./event_legacy.ts";

const QUOTE = 0x22;
const SPACE = 0x20;
const COMMA = 0x2c;
const CLOSE = 0x7d;
const HEAD = '{"user_id":';
const HEAD_BYTES = Uint8Array.from(HEAD, (c) => c.charCodeAt(0));
/** Longest integer user id taken here: 15 digits are always a safe integer. */
const MAX_ID_DIGITS = 15;

/**
 * The old prototype's message in `message` as read, with its instant, when it is in the layout
 * above and plainly valid; `undefined` when in doubt.
 */
export function readLegacyBytes(message: Uint8Array): LegacyRead | undefined {
  // Other shapes leave here, before any text is made.
  if (!startsWithBytes(message, HEAD_BYTES)) return undefined;
  const text = ascii(message);
  let at = afterSpace(text, HEAD.length);
  let end: number;
  let userId: string;
  if (text.charCodeAt(at) === QUOTE) {
    end = text.indexOf('"', at + 1);
    if (!isSafeId(text, at + 1, end)) return undefined;
    userId = text.slice(at + 1, end);
    end++;
  } else {
    end = at;
    while (isDigit(text.charCodeAt(end))) end++;
    const length = end - at;
    // JSON allows no leading zero; longer integers are left to the general path's checks.
    if (length < 1 || length > MAX_ID_DIGITS || (length > 1 && text.charCodeAt(at) === 0x30)) {
      return undefined;
    }
    userId = text.slice(at, end);
  }
  at = valueAfter(text, end, '"event_type":');
  end = at < 0 ? -1 : text.indexOf('"', at + 1);
  if (text.charCodeAt(at) !== QUOTE || !isEventType(text, at + 1, end)) return undefined;
  const eventType = text.slice(at + 1, end);
  at = valueAfter(text, end + 1, '"timestamp":');
  end = at < 0 ? -1 : text.indexOf('"', at + 1);
  if (
    text.charCodeAt(at) !== QUOTE || end !== text.length - 2 ||
    text.charCodeAt(end + 1) !== CLOSE
  ) {
    return undefined;
  }
  const occurredAtMs = localIsoMs(text, at + 1, end);
  if (Number.isNaN(occurredAtMs)) return undefined;
  return {
    event: { user_id: userId, event_type: eventType, timestamp: text.slice(at + 1, end) },
    occurredAtMs,
    legacy: true,
  };
}

/** Where the value of `key` starts when `, key:` (a space allowed after each) is at `at`; -1 if not. */
function valueAfter(text: string, at: number, key: string): number {
  if (at < 0 || text.charCodeAt(at) !== COMMA) return -1;
  at = afterSpace(text, at + 1);
  return text.startsWith(key, at) ? afterSpace(text, at + key.length) : -1;
}

function afterSpace(text: string, at: number): number {
  return text.charCodeAt(at) === SPACE ? at + 1 : at;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Epoch milliseconds of `YYYY-MM-DD(T| )HH:MM:SS(.f{1,9})?` from `start` to `end`, read as UTC,
 * when it is a real date and time; else NaN. Digits past the milliseconds are dropped, as
 * `Date.parse` drops them.
 */
function localIsoMs(text: string, start: number, end: number): number {
  const length = end - start;
  const separator = text.charCodeAt(start + 10);
  if (
    !(length === 19 || (length >= 21 && length <= 29 && text.charCodeAt(start + 19) === 0x2e)) ||
    text.charCodeAt(start + 4) !== 0x2d || text.charCodeAt(start + 7) !== 0x2d ||
    (separator !== 0x54 && separator !== SPACE) ||
    text.charCodeAt(start + 13) !== 0x3a || text.charCodeAt(start + 16) !== 0x3a
  ) {
    return NaN;
  }
  let milli = 0;
  for (let i = start + 20, scale = 100; i < end; i++, scale /= 10) {
    const digit = text.charCodeAt(i) - 0x30;
    if (!(digit >= 0 && digit <= 9)) return NaN;
    if (scale >= 1) milli += digit * scale;
  }
  return civilMs(text, start, milli);
}
