import assert from "node:assert/strict";
import { decode } from "@activity/shared";
import { badInputCatalogue, malformedAround } from "./bad_input_catalogue.ts";
import { COMPLETE_EVENT } from "./event_samples.ts";

Deno.test("the bad-input catalogue holds at least 30 distinct kinds", () => {
  const catalogue = badInputCatalogue(Date.now());
  assert.ok(catalogue.length >= 30, `${catalogue.length} kinds`);
  assert.equal(new Set(catalogue.map((entry) => entry.name)).size, catalogue.length);
});

Deno.test("the shared decoder gives every catalogued and every malformed input its expected outcome", () => {
  const now = Date.now();
  const base = { ...COMPLETE_EVENT, occurred_at: new Date(now - 60_000).toISOString() };
  for (const entry of [...badInputCatalogue(now), ...malformedAround(base, now)]) {
    const result = decode(entry.value, { nowMs: now });
    const outcome = result.kind === "accepted" ? "accepted" : result.reason;
    assert.equal(outcome, entry.expected, `${entry.name}: ${JSON.stringify(result).slice(0, 200)}`);
    if (result.kind === "accepted" && entry.counts) {
      assert.equal(result.event.user_id, entry.counts.user_id, entry.name);
      assert.equal(result.event.event_type, entry.counts.event_type, entry.name);
    }
  }
});
