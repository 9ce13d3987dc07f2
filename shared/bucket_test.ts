import assert from "node:assert/strict";
import { dayOf, hourOf, minuteOf } from "./bucket.ts";

const at = (iso: string) => Date.parse(iso);

Deno.test("minuteOf keeps the last millisecond of a minute in that minute", () => {
  assert.equal(minuteOf(at("2026-03-01T10:15:59.999Z")), at("2026-03-01T10:15:00Z"));
  assert.equal(minuteOf(at("2026-03-01T10:16:00.000Z")), at("2026-03-01T10:16:00Z"));
});

Deno.test("hourOf puts the minute before the hour in the previous hour", () => {
  assert.equal(hourOf(at("2026-03-01T10:59:59.999Z")), at("2026-03-01T10:00:00Z"));
  assert.equal(hourOf(at("2026-03-01T11:00:00Z")), at("2026-03-01T11:00:00Z"));
});

Deno.test("dayOf cuts days at UTC midnight whatever the original offset was", () => {
  assert.equal(dayOf(at("2026-03-01T23:59:59.999Z")), at("2026-03-01T00:00:00Z"));
  assert.equal(dayOf(at("2026-03-02T00:30:00+02:00")), at("2026-03-01T00:00:00Z"));
  assert.equal(dayOf(at("2024-02-29T12:00:00Z")), at("2024-02-29T00:00:00Z"));
});

Deno.test("buckets before 1970 still round down, not toward zero", () => {
  assert.equal(minuteOf(at("1969-12-31T23:59:30Z")), at("1969-12-31T23:59:00Z"));
  assert.equal(dayOf(at("1969-12-31T23:59:30Z")), at("1969-12-31T00:00:00Z"));
});
