import assert from "node:assert/strict";
import { toUtcIso, utcIsoMs } from "./event_schema.ts";

Deno.test("reading toISOString's form by arithmetic gives Date.parse's instant, years 0 to 9999", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const max = Date.parse("9999-12-31T23:59:59.999Z");
  const min = Date.parse("0000-01-01T00:00:00.000Z");
  const instants = [
    min,
    max,
    0,
    -1,
    Date.parse("2000-02-29T23:59:59.999Z"),
    Date.parse("1900-03-01T00:00:00.000Z"),
    Date.parse("2100-02-28T12:00:00.000Z"),
  ];
  for (let i = 0; i < 20_000; i++) instants.push(Math.floor(min + random() * (max - min)));
  for (const ms of instants) {
    const iso = new Date(ms).toISOString();
    assert.equal(utcIsoMs(iso), ms, iso);
  }
});

Deno.test("other date-time forms are left to Date.parse", () => {
  for (
    const text of [
      "2026-06-01T13:59:00.250+02:00",
      "2026-06-01T11:59:00Z",
      "2026-06-01T11:59:00.25Z",
      "2026-06-01X11:59:00.250Z",
      "2026-06-0aT11:59:00.250Z",
      "not a date at all, 24 c",
    ]
  ) {
    assert.deepEqual(utcIsoMs(text), Date.parse(text), text);
  }
  assert.equal(toUtcIso("2026-06-01T13:59:00.250+02:00"), "2026-06-01T11:59:00.250Z");
});
