import assert from "node:assert/strict";
import { closedBefore } from "./closed_rollups.ts";

Deno.test("an hour is closed an hour after it ends, a day once its last hour is", () => {
  const at = (iso: string) => closedBefore(Date.parse(iso));
  assert.deepEqual(at("2026-06-01T12:59:59.999Z"), {
    hours: new Date("2026-06-01T11:00:00Z"),
    days: new Date("2026-06-01T00:00:00Z"),
  });
  assert.deepEqual(at("2026-06-01T13:00:00Z").hours, new Date("2026-06-01T12:00:00Z"));
  assert.deepEqual(at("2026-06-02T00:30:00Z"), {
    hours: new Date("2026-06-01T23:00:00Z"),
    days: new Date("2026-06-01T00:00:00Z"),
  });
  assert.deepEqual(at("2026-06-02T01:00:00Z").days, new Date("2026-06-02T00:00:00Z"));
});
