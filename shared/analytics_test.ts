import assert from "node:assert/strict";
import { FUNNEL_STEPS, funnelStepsOf } from "./analytics.ts";

Deno.test("the default funnel is landing, product page, cart, checkout by page path", () => {
  assert.deepEqual(FUNNEL_STEPS.map((step) => step.name), [
    "landing",
    "product page",
    "cart",
    "checkout",
  ]);
  assert.equal(funnelStepsOf("/"), 0b0001);
  assert.equal(funnelStepsOf("/blog/3"), 0b0001);
  assert.equal(funnelStepsOf("/products"), 0b0001, "the listing is not a product page");
  assert.equal(funnelStepsOf("/products/12"), 0b0011);
  assert.equal(funnelStepsOf("/products/12/reviews"), 0b0001);
  assert.equal(funnelStepsOf("/cart"), 0b0101);
  assert.equal(funnelStepsOf("/checkout"), 0b1001);
  assert.equal(funnelStepsOf("/checkout/done"), 0b0001);
});

Deno.test("a session's steps do not depend on the order its pages were viewed in", () => {
  const pages = ["/checkout", "/", "/cart", "/products/3"];
  const forward = pages.reduce((steps, page) => steps | funnelStepsOf(page), 0);
  const backward = pages.toReversed().reduce((steps, page) => steps | funnelStepsOf(page), 0);
  assert.equal(forward, backward);
  assert.equal(forward, 0b1111);
});
