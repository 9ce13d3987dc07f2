/**
 * A catalogue of hostile and malformed message values, published raw to the
 * topic (bypassing our producer) by the reliability tests. Each entry says
 * whether the consumer must count it or reject it, and for which reason.
 */
import type { RejectReason } from "@activity/shared";

/** One kind of bad (or surprising but valid) input. */
export interface BadInput {
  /** What the input is, as a sentence fragment. */
  readonly name: string;
  /** The raw message value (null is a Kafka null value, a tombstone). */
  readonly value: Uint8Array | null;
  /** The expected outcome: counted as valid, or rejected for this reason. */
  readonly expected: "accepted" | RejectReason;
  /** For accepted inputs: the user and type it must be counted under. */
  readonly counts?: { readonly user_id: string; readonly event_type: string };
}

const encoder = new TextEncoder();

/** Builds the catalogue for events happening around `nowMs`. */
export function badInputCatalogue(nowMs: number): BadInput[] {
  const at = new Date(nowMs - 60_000).toISOString();
  let n = 0;
  const id = () => `0190${(n++).toString(16).padStart(4, "0")}-0000-7000-8000-000000000000`;
  const event = (overrides: Record<string, unknown> = {}) => ({
    version: 1,
    event_id: id(),
    user_id: "bad_input_user",
    session_id: "s-bad",
    event_type: "click",
    occurred_at: at,
    page: "/catalogue",
    ...overrides,
  });
  const json = (value: unknown) => encoder.encode(JSON.stringify(value));
  const text = (value: string) => encoder.encode(value);
  let nested = '{"a":1}';
  for (let i = 0; i < 5000; i++) nested = `{"a":${nested}}`;

  return [
    {
      name: "random bytes",
      value: Uint8Array.from([0x9f, 0x00, 0xff, 0x13, 0x80, 0x7f]),
      expected: "not_utf8",
    },
    { name: "an empty value", value: new Uint8Array(), expected: "empty" },
    { name: "a null value", value: null, expected: "empty" },
    {
      name: "invalid UTF-8 inside JSON",
      value: Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      expected: "not_utf8",
    },
    {
      name: "truncated JSON",
      value: text(JSON.stringify(event()).slice(0, 40)),
      expected: "not_json",
    },
    { name: "a JSON array", value: json([event()]), expected: "not_object" },
    { name: "a JSON string", value: json("click"), expected: "not_object" },
    { name: "a JSON number", value: json(42), expected: "not_object" },
    { name: "JSON null", value: text("null"), expected: "not_object" },
    {
      name: "a missing field",
      value: json({ ...event(), page: undefined }),
      expected: "schema_violation",
    },
    { name: "an extra field", value: json(event({ admin: true })), expected: "schema_violation" },
    {
      name: "a wrong type for user_id",
      value: json(event({ user_id: 12345 })),
      expected: "schema_violation",
    },
    {
      name: "a wrong type for occurred_at",
      value: json(event({ occurred_at: 1717000000 })),
      expected: "schema_violation",
    },
    { name: "an empty user_id", value: json(event({ user_id: "" })), expected: "schema_violation" },
    {
      name: "a huge user_id",
      value: json(event({ user_id: "u".repeat(5000) })),
      expected: "schema_violation",
    },
    {
      name: "an unknown event type",
      value: json(event({ event_type: "purchase" })),
      expected: "unknown_event_type",
    },
    {
      name: "an upper-case event type",
      value: json(event({ event_type: "CLICK" })),
      expected: "schema_violation",
    },
    {
      name: "a timestamp without offset",
      value: json(event({ occurred_at: at.slice(0, -1) })),
      expected: "schema_violation",
    },
    {
      name: "a timestamp far in the future",
      value: json(event({ occurred_at: "2999-01-01T00:00:00Z" })),
      expected: "future_timestamp",
    },
    {
      name: "a timestamp before 1970",
      value: json(event({ occurred_at: "1969-07-20T20:17:00Z" })),
      expected: "expired_timestamp",
    },
    {
      name: "a timestamp that is not a date",
      value: json(event({ occurred_at: "not-a-date" })),
      expected: "schema_violation",
    },
    {
      name: "a 1 MB message",
      value: json(event({ page: "/" + "x".repeat(1_000_000) })),
      expected: "too_large",
    },
    { name: "deeply nested JSON", value: text(nested), expected: "too_large" },
    {
      name: "nested JSON under the size limit",
      value: text('{"a":{"b":{"c":{"d":[[[[1]]]]}}}}'),
      expected: "unsupported_version",
    },
    {
      name: "control characters in user_id",
      value: json(event({ user_id: "user\u0000\u0007" })),
      expected: "schema_violation",
    },
    {
      name: "emoji in user_id",
      value: json(event({ user_id: "user_😀" })),
      expected: "schema_violation",
    },
    {
      name: "an SQL-looking user_id",
      value: json(event({ user_id: "x'); DROP TABLE user_event_summary;--" })),
      expected: "schema_violation",
    },
    {
      name: "an SQL-looking property value, stored verbatim",
      value: json(
        event({
          user_id: "sql_props_user",
          properties: { q: "'; DELETE FROM consumer_offsets;--" },
        }),
      ),
      expected: "accepted",
      counts: { user_id: "sql_props_user", event_type: "click" },
    },
    {
      name: "duplicate keys in JSON (the last one wins, as in JSON.parse)",
      value: text(
        JSON.stringify(event({ user_id: "dup_first" })).replace(
          '"user_id":"dup_first"',
          '"user_id":"dup_first","user_id":"dup_last"',
        ),
      ),
      expected: "accepted",
      counts: { user_id: "dup_last", event_type: "click" },
    },
    {
      name: "the old prototype's shape",
      value: json({ user_id: "legacy_user", event_type: "view", timestamp: at.slice(0, -1) }),
      expected: "accepted",
      counts: { user_id: "legacy_user", event_type: "view" },
    },
    {
      name: "the old prototype's shape with an unknown type",
      value: json({ user_id: "legacy_user", event_type: "hover", timestamp: at.slice(0, -1) }),
      expected: "unknown_event_type",
    },
    {
      name: "a version 2 event",
      value: json(event({ version: 2 })),
      expected: "unsupported_version",
    },
    {
      name: "an event id that is not a UUID",
      value: json(event({ event_id: "1234" })),
      expected: "schema_violation",
    },
    {
      name: "a page without a leading slash",
      value: json(event({ page: "javascript:alert(1)" })),
      expected: "schema_violation",
    },
    {
      name: "a UTF-8 byte order mark before JSON",
      value: Uint8Array.from([0xef, 0xbb, 0xbf, ...json(event({ user_id: "bom_user" }))]),
      expected: "accepted",
      counts: { user_id: "bom_user", event_type: "click" },
    },
    { name: "whitespace only", value: text("   \n\t "), expected: "not_json" },
  ];
}
