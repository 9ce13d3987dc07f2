import assert from "node:assert/strict";
import { testServices } from "../testing/services.ts";
import { profileFlushes, renderProfile } from "./flush_statement_profile.ts";

Deno.test("the flush profile attributes the statement's time to the tables it writes", async () => {
  const { databaseUrl } = await testServices();
  const profile = await profileFlushes(databaseUrl, {
    events: 4_000,
    users: 200,
    skew: 0.7,
    spanMinutes: 30,
    flushEvents: 2_000,
    shape: "canonical",
  });
  assert.equal(profile.flushes, 2);
  const summary = profile.steps.find((step) => step.step === "insert user_event_summary");
  assert.ok(summary && summary.rows > 0 && summary.ms > 0, "per-minute rows and their time");
  // One row per distinct (user, minute, type) key of each flush.
  assert.equal(summary.rows, Math.round(profile.distinctKeysPerEvent * 4_000));
  assert.ok(profile.steps.some((step) => step.step === "insert sessions" && step.rows > 0));
  assert.match(renderProfile(profile), /\| insert user_event_summary \| \d+ \| \d+ \| [\d.]+ \|/);
});
