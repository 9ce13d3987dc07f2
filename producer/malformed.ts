/**
 * Malformed messages for demos and for tests of the consumer's rejection
 * path: one way to break an event for every reason the shared `decode`
 * rejects a message for. Each is built from a real simulated event, so it
 * carries that event's user as its key. Pure.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, REJECT_REASONS, type RejectReason } from "@activity/shared";
import { eventJson, eventJsonWith, withParts } from "./event_json.ts";
import { UNKNOWN_EVENT_TYPE } from "./event_mix.ts";
import type { Random } from "./random.ts";

/** How far injected future and expired timestamps are from the event's own time. */
export const TIMESTAMP_SHIFT_MS = 400 * 86_400_000;

/** The kinds injected, in the order they take turns. */
export const MALFORMED_KINDS: readonly RejectReason[] = REJECT_REASONS;

const PADDING = "x".repeat(2 * DEFAULT_MAX_MESSAGE_BYTES);

type Breaker = (
  parts: readonly string[],
  occurredAtMs: number,
  random: Random,
) => string | Uint8Array;

// A Record over RejectReason: a new reason in the shared module fails type checking here.
const BREAKERS: Record<RejectReason, Breaker> = {
  empty: () => new Uint8Array(0),
  too_large: (parts) => eventJson(withParts(parts, { properties: `{"padding":"${PADDING}"}` })),
  not_utf8: (_parts, _at, random) => {
    const bytes = new Uint8Array(32);
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.below(256);
    bytes[0] = 0xff; // never valid anywhere in UTF-8
    return bytes;
  },
  not_json: (parts) => {
    const text = eventJson(parts);
    return text.slice(0, text.length >> 1);
  },
  not_object: (parts) => `[${eventJson(parts)}]`,
  unsupported_version: (parts) => eventJsonWith(parts, { version: "2" }),
  schema_violation: (parts, _at, random) =>
    eventJsonWith(parts, { event_id: String(random.uint32()) }),
  unknown_event_type: (parts) => eventJson(withParts(parts, { event_type: UNKNOWN_EVENT_TYPE })),
  future_timestamp: (parts, at) =>
    eventJson(withParts(parts, { occurred_at: new Date(at + TIMESTAMP_SHIFT_MS).toISOString() })),
  expired_timestamp: (parts, at) =>
    eventJson(withParts(parts, { occurred_at: new Date(at - TIMESTAMP_SHIFT_MS).toISOString() })),
};

/**
 * The value of a message that `decode` rejects for `reason` when the consumer's
 * clock is within 399 days of `occurredAtMs` and it uses the default limits
 * (16 KiB messages, 5 minutes of future tolerance, 30 days of retention).
 */
export function malformedValue(
  reason: RejectReason,
  parts: readonly string[],
  occurredAtMs: number,
  random: Random,
): string | Uint8Array {
  return BREAKERS[reason](parts, occurredAtMs, random);
}
