/**
 * What the product analytics make of an event, defined once for the consumer (which stores it)
 * and the dashboard (which names it): which events are page views and the funnel's steps.
 * Events of the old prototype's shape (`decode` marks them `legacy`) carry no session and no
 * page, so they count for users and types only. Pure.
 */

/** The event type that is a page view (views per page, landing page, bounce, funnel steps). */
export const PAGE_VIEW_TYPE = "view";

/** One step of the funnel: a page view whose path matches `pages`. */
export interface FunnelStep {
  /** Shown on the dashboard. */
  readonly name: string;
  readonly pages: RegExp;
}

/**
 * The funnel, in order. A session reaches step k when it has viewed a page of every step 1..k,
 * in any order in time (see `docs/architecture.md`); the first step matches any page, so every
 * session with a page view has landed. At most 15 steps (a session keeps them as bits).
 */
export const FUNNEL_STEPS: readonly FunnelStep[] = [
  { name: "landing", pages: /^\// },
  { name: "product page", pages: /^\/products\/[^/]+$/ },
  { name: "cart", pages: /^\/cart$/ },
  { name: "checkout", pages: /^\/checkout$/ },
];

/** The funnel steps a view of `page` counts for, as bits (bit i: step i + 1). */
export function funnelStepsOf(page: string): number {
  let steps = 0;
  for (let i = 0; i < FUNNEL_STEPS.length; i++) {
    if (FUNNEL_STEPS[i].pages.test(page)) steps |= 1 << i;
  }
  return steps;
}
