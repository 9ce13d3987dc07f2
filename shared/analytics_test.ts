import assert from "node:assert/strict";
import { FUNNEL_STEPS, funnelStepsOf } from "./analytics.ts";

Deno.test("the default funnel is landing, product page, cart, checkout by page path", () => {
  assert.deepEqual(FUNNEL_STEPS.map((step) => step.name), [
    "landing",
    "product page",
    "cart",
    "checkout",
  ]);
  const cases: [page: string, steps: number, why?: string][] = [
    ["/", 0b0001],
    ["/blog/3", 0b0001],
    ["/products", 0b0001, "the listing is not a product page"],
    ["/products/12", 0b0011],
    ["/products/12/reviews", 0b0001],
    ["/cart", 0b0101],
    ["/checkout", 0b1001],
    ["/checkout/done", 0b0001],
  ];
  for (const [page, steps, why] of cases) assert.equal(funnelStepsOf(page), steps, why ?? page);
});

Deno.test("a session's steps do not depend on the order its pages were viewed in", () => {
  const pages = ["/checkout", "/", "/cart", "/products/3"];
  const forward = pages.reduce((steps, page) => steps | funnelStepsOf(page), 0);
  const backward = pages.toReversed().reduce((steps, page) => steps | funnelStepsOf(page), 0);
  assert.equal(forward, backward);
  assert.equal(forward, 0b1111);
});
