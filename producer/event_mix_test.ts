import assert from "node:assert/strict";
import { formatEventMix, parseEventMix, UNKNOWN_EVENT_TYPE } from "./event_mix.ts";

Deno.test("a mix is read as types with shares that sum to 1", () => {
  const outcome = parseEventMix("view=5, scroll=3,click=2");
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.mix.types, ["view", "scroll", "click"]);
  assert.deepEqual(outcome.mix.shares, [0.5, 0.3, 0.2]);
  assert.equal(formatEventMix(outcome.mix), "view=50,scroll=30,click=20");
});

Deno.test("other event types and fractional weights are allowed", () => {
  const outcome = parseEventMix("view=1.5,purchase=.5");
  assert.ok(outcome.ok);
  assert.deepEqual(outcome.mix.shares, [0.75, 0.25]);
});

Deno.test("a mix without view, with bad names, weights or duplicates is refused with the reason", () => {
  const problems: [string, RegExp][] = [
    ["scroll=1,click=1", /no view/],
    ["view=1,Click=1", /"Click" is not a lowercase identifier/],
    ["view=1,click", /"click" is not type=weight/],
    ["view=1,click=0", /weight of "click" is not positive/],
    ["view=1,view=2", /"view" appears twice/],
    ["view=-1", /not type=weight/],
    ["", /not type=weight/],
    [`view=1,${UNKNOWN_EVENT_TYPE}=1`, /reserved/],
  ];
  for (const [text, problem] of problems) {
    const outcome = parseEventMix(text);
    assert.equal(outcome.ok, false, text);
    if (!outcome.ok) assert.match(outcome.problem, problem);
  }
});
