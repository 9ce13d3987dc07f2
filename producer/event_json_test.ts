import assert from "node:assert/strict";
import { type ActivityEvent, encode, EVENT_FIELDS, isRequired } from "@activity/shared";
import {
  createIsoFormatter,
  eventJson,
  eventJsonWith,
  type EventParts,
  eventParts,
  PART,
  withParts,
} from "./event_json.ts";
import { COMPLETE_EVENT } from "../testing/event_samples.ts";

const FULL = COMPLETE_EVENT;

/** The parts of an event, made without the writer's own field descriptions. */
function partsOf(event: ActivityEvent): EventParts {
  const parts = eventParts({});
  for (const [name, value] of Object.entries(event)) {
    parts[PART[name as keyof typeof PART]] = typeof value === "string"
      ? value
      : JSON.stringify(value);
  }
  return parts;
}

function written(event: ActivityEvent): Uint8Array {
  return new TextEncoder().encode(eventJson(partsOf(event)));
}

Deno.test("the sample event holds every field of the schema", () => {
  assert.deepEqual(Object.keys(FULL), EVENT_FIELDS.map((spec) => spec.name));
});

Deno.test("the event JSON is byte for byte what the shared encode writes, with every field of the schema", () => {
  assert.deepEqual(written(FULL), encode(FULL));
});

Deno.test("each optional field left out is left out of the JSON as encode leaves it out", () => {
  const optional = EVENT_FIELDS.filter((spec) => !isRequired(spec)).map((spec) => spec.name);
  assert.ok(optional.length > 0);
  for (const name of optional) {
    const { [name]: _, ...without } = FULL;
    assert.deepEqual(written(without as ActivityEvent), encode(without as ActivityEvent), name);
  }
});

Deno.test("named parts and replacements land on their fields", () => {
  const parts = partsOf(FULL);
  assert.deepEqual(eventParts({ user_id: "u" })[PART.user_id], "u");
  assert.equal(eventParts({})[PART.version], "1");
  const changed = withParts(parts, { event_type: "scroll" });
  assert.equal(JSON.parse(eventJson(changed)).event_type, "scroll");
  assert.equal(parts[PART.event_type], "click", "the original parts are unchanged");
});

Deno.test("version and event_id can be replaced by raw JSON values", () => {
  const parts = partsOf(FULL);
  const parsed = JSON.parse(eventJsonWith(parts, { version: "2", event_id: "12345" }));
  assert.equal(parsed.version, 2);
  assert.equal(parsed.event_id, 12345);
  assert.equal(parsed.user_id, "user_42");
  assert.deepEqual(parsed.properties, FULL.properties);
  assert.equal(eventJsonWith(parts, {}), eventJson(parts));
  const bare = withParts(parts, { properties: "" });
  assert.equal(eventJsonWith(bare, {}), eventJson(bare));
});

Deno.test("the ISO formatter equals toISOString, across minutes, hours, days and years", () => {
  const iso = createIsoFormatter();
  const starts = [
    Date.parse("2026-06-01T11:59:58.990Z"),
    Date.parse("2026-12-31T23:59:59.000Z"),
    Date.parse("1999-02-28T23:59:30.000Z"),
    0,
  ];
  for (const start of starts) {
    for (let ms = start; ms < start + 130_000; ms += 7) {
      assert.equal(iso(ms), new Date(ms).toISOString());
    }
  }
  // Going back in time (events of another user, or a new run) still formats correctly.
  for (const ms of [starts[0], starts[2], starts[0] + 61_000, starts[0] - 1]) {
    assert.equal(iso(ms), new Date(ms).toISOString());
  }
});
