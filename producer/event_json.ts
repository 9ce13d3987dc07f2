/**
 * The canonical event's JSON text built by concatenation, byte for byte what
 * the shared `encode` writes (`JSON.stringify` of the event with the schema's
 * field order), without building an object per event. Every part comes from
 * a safe alphabet (hex ids, `user_N`, lowercase type names, catalogue pages),
 * so nothing needs escaping. Pure.
 */
import { EVENT_VERSION } from "@activity/shared";

/** The parts of one event, as text. */
export interface EventParts {
  readonly eventId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly eventType: string;
  /** `occurred_at` as `toISOString()` writes it. */
  readonly occurredAt: string;
  readonly page: string;
  /** `,"properties":{...}` or "". */
  readonly properties: string;
}

const VERSION = String(EVENT_VERSION);

/** The JSON text of an event. */
export function eventJson(parts: EventParts): string {
  return jsonText(VERSION, '"' + parts.eventId + '"', parts);
}

/** The JSON text of an event whose `version` and `event_id` are the given raw JSON values. */
export function eventJsonWith(
  parts: EventParts,
  raw: { readonly version?: string; readonly eventId?: string },
): string {
  return jsonText(raw.version ?? VERSION, raw.eventId ?? '"' + parts.eventId + '"', parts);
}

function jsonText(version: string, eventId: string, parts: EventParts): string {
  return '{"version":' + version + ',"event_id":' + eventId + ',"user_id":"' + parts.userId +
    '","session_id":"' + parts.sessionId + '","event_type":"' + parts.eventType +
    '","occurred_at":"' + parts.occurredAt + '","page":"' + parts.page + '"' +
    parts.properties + "}";
}

const TWO_DIGITS: readonly string[] = Array.from(
  { length: 60 },
  (_, i) => String(i).padStart(2, "0"),
);
const THREE_DIGITS: readonly string[] = Array.from(
  { length: 1000 },
  (_, i) => String(i).padStart(3, "0"),
);

/**
 * A formatter equal to `new Date(ms).toISOString()` for whole milliseconds
 * from year 0 to 9999; it reuses the date part within a minute, which is what
 * consecutive events share.
 */
export function createIsoFormatter(): (epochMs: number) => string {
  let minuteStart = NaN;
  let prefix = "";
  return (epochMs: number) => {
    const offset = epochMs - minuteStart;
    if (!(offset >= 0 && offset < 60_000)) {
      minuteStart = epochMs - (((epochMs % 60_000) + 60_000) % 60_000);
      prefix = new Date(minuteStart).toISOString().slice(0, 17);
      return formatWithin(prefix, epochMs - minuteStart);
    }
    return formatWithin(prefix, offset);
  };
}

function formatWithin(prefix: string, offsetMs: number): string {
  const seconds = Math.floor(offsetMs / 1000);
  return prefix + TWO_DIGITS[seconds] + "." + THREE_DIGITS[offsetMs - seconds * 1000] + "Z";
}
