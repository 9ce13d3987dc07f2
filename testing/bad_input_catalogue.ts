/**
 * A catalogue of hostile and malformed message values, published raw to the
 * topic (bypassing our producer) by the reliability tests. Each entry says
 * whether the consumer must count it or reject it, and for which reason.
 */
import type { ActivityEvent, RejectReason } from "@activity/shared";

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
  const bytes = (...values: number[]) => Uint8Array.from(values);
  const bad = (name: string, value: Uint8Array | null, expected: RejectReason): BadInput => ({
    name,
    value,
    expected,
  });
  // A valid event but for `overrides`.
  const variant = (name: string, overrides: Record<string, unknown>, expected: RejectReason) =>
    bad(name, json(event(overrides)), expected);
  const counted = (name: string, value: Uint8Array, user_id: string, event_type = "click") => ({
    name,
    value,
    expected: "accepted" as const,
    counts: { user_id, event_type },
  });
  const legacy = (event_type: string) => ({
    user_id: "legacy_user",
    event_type,
    timestamp: at.slice(0, -1),
  });
  let nested = '{"a":1}';
  for (let i = 0; i < 5000; i++) nested = `{"a":${nested}}`;
  const withProperty = event({ user_id: "sql_props_user", properties: { q: SQL_IN_PROPERTY } });
  const duplicateKey = JSON.stringify(event({ user_id: "dup_first" }))
    .replace('"user_id":"dup_first"', '"user_id":"dup_first","user_id":"dup_last"');

  return [
    bad("random bytes", bytes(0x9f, 0x00, 0xff, 0x13, 0x80, 0x7f), "not_utf8"),
    bad("an empty value", new Uint8Array(), "empty"),
    bad("a null value", null, "empty"),
    bad("invalid UTF-8 inside JSON", bytes(0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d), "not_utf8"),
    bad("truncated JSON", text(JSON.stringify(event()).slice(0, 40)), "not_json"),
    bad("a JSON array", json([event()]), "not_object"),
    bad("a JSON string", json("click"), "not_object"),
    bad("a JSON number", json(42), "not_object"),
    bad("JSON null", text("null"), "not_object"),
    variant("a missing field", { page: undefined }, "schema_violation"),
    variant("an extra field", { admin: true }, "schema_violation"),
    variant("a wrong type for user_id", { user_id: 12345 }, "schema_violation"),
    variant("a wrong type for occurred_at", { occurred_at: 1717000000 }, "schema_violation"),
    variant("an empty user_id", { user_id: "" }, "schema_violation"),
    variant("a huge user_id", { user_id: "u".repeat(5000) }, "schema_violation"),
    variant("an unknown event type", { event_type: "purchase" }, "unknown_event_type"),
    variant("an upper-case event type", { event_type: "CLICK" }, "schema_violation"),
    variant("a timestamp without offset", { occurred_at: at.slice(0, -1) }, "schema_violation"),
    variant(
      "a timestamp far in the future",
      { occurred_at: "2999-01-01T00:00:00Z" },
      "future_timestamp",
    ),
    variant(
      "a timestamp before 1970",
      { occurred_at: "1969-07-20T20:17:00Z" },
      "expired_timestamp",
    ),
    variant("a timestamp that is not a date", { occurred_at: "not-a-date" }, "schema_violation"),
    variant("a 1 MB message", { page: "/" + "x".repeat(1_000_000) }, "too_large"),
    bad("deeply nested JSON", text(nested), "too_large"),
    bad(
      "nested JSON under the size limit",
      text('{"a":{"b":{"c":{"d":[[[[1]]]]}}}}'),
      "unsupported_version",
    ),
    variant("control characters in user_id", { user_id: "user\u0000\u0007" }, "schema_violation"),
    variant("emoji in user_id", { user_id: "user_😀" }, "schema_violation"),
    variant("an SQL-looking user_id", { user_id: SQL_IN_USER_ID }, "schema_violation"),
    counted("an SQL-looking property value, stored verbatim", json(withProperty), "sql_props_user"),
    counted(
      "duplicate keys in JSON (the last one wins, as in JSON.parse)",
      text(duplicateKey),
      "dup_last",
    ),
    counted("the old prototype's shape", json(legacy("view")), "legacy_user", "view"),
    bad(
      "the old prototype's shape with an unknown type",
      json(legacy("hover")),
      "unknown_event_type",
    ),
    variant("a version 2 event", { version: 2 }, "unsupported_version"),
    variant("an event id that is not a UUID", { event_id: "1234" }, "schema_violation"),
    variant("a page without a leading slash", { page: "javascript:alert(1)" }, "schema_violation"),
    counted(
      "a UTF-8 byte order mark before JSON",
      bytes(0xef, 0xbb, 0xbf, ...json(event({ user_id: "bom_user" }))),
      "bom_user",
    ),
    bad("whitespace only", text("   \n\t "), "not_json"),
  ];
}

const SQL_IN_USER_ID = "x'); DROP TABLE user_event_summary;--";
const SQL_IN_PROPERTY = "'; DELETE FROM consumer_offsets;--";

/**
 * One malformed message of each reject reason built around the valid event `base` (a variant of
 * `base` for most), small enough to be published many at a time among valid events.
 */
export function malformedAround(base: ActivityEvent, nowMs: number): BadInput[] {
  const json = (value: unknown) => encoder.encode(JSON.stringify(value));
  const kinds: [RejectReason, string, Uint8Array | null][] = [
    ["empty", "null", null],
    ["empty", "empty", new Uint8Array()],
    ["too_large", "a 20 kB page", json({ ...base, page: "/" + "x".repeat(20_000) })],
    ["not_utf8", "invalid UTF-8", Uint8Array.from([0x7b, 0xff, 0xfe, 0x00, 0x7d])],
    ["not_json", "cut JSON", encoder.encode('{"version":1,"user_id":')],
    ["not_object", "an array", json([base])],
    ["unsupported_version", "version 2", json({ ...base, version: 2 })],
    ["schema_violation", "SQL in user_id", json({ ...base, user_id: "bad user; DROP TABLE x" })],
    ["schema_violation", "an extra field", json({ ...base, extra: true })],
    ["unknown_event_type", "purchase", json({ ...base, event_type: "purchase" })],
    [
      "future_timestamp",
      "an hour ahead",
      json({ ...base, occurred_at: new Date(nowMs + 3_600_000).toISOString() }),
    ],
    [
      "expired_timestamp",
      "40 days old",
      json({ ...base, occurred_at: new Date(nowMs - 40 * 86_400_000).toISOString() }),
    ],
  ];
  return kinds.map(([expected, what, value]) => ({
    name: `${what} (${base.event_id})`,
    value,
    expected,
  }));
}
