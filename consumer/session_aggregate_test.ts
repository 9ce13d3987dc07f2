import assert from "node:assert/strict";
import type { ActivityEvent } from "@activity/shared";
import {
  addSessionEvent,
  emptySessionAggregate,
  pageViewColumns,
  sessionColumns,
} from "./session_aggregate.ts";

const T = Date.parse("2026-06-01T12:00:00Z");

function event(
  type: string,
  page: string,
  options: { session?: string; user?: string; referrer?: unknown } = {},
): ActivityEvent {
  return {
    version: 1,
    event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
    user_id: options.user ?? "u1",
    session_id: options.session ?? "s1",
    event_type: type,
    occurred_at: "2026-06-01T12:00:00.000Z",
    page,
    ...(options.referrer === undefined
      ? {}
      : { properties: { referrer: options.referrer as string } }),
  };
}

Deno.test("a session part spans its earliest to latest event and counts events and page views", () => {
  const aggregate = emptySessionAggregate();
  addSessionEvent(aggregate, event("scroll", "/products/3"), T + 5_000);
  addSessionEvent(aggregate, event("view", "/products/3", { referrer: "internal" }), T + 4_000);
  addSessionEvent(aggregate, event("view", "/", { referrer: "search" }), T + 1_000);
  addSessionEvent(aggregate, event("click", "/"), T);
  addSessionEvent(aggregate, event("view", "/cart", { session: "s2" }), T + 9_000);
  assert.deepEqual(aggregate.sessions.get("u1")?.get("s1"), {
    firstMs: T,
    lastMs: T + 5_000,
    events: 4,
    pageViews: 2,
    landingMs: T + 1_000,
    landingPage: "/",
    referrer: "search",
    funnelSteps: 0b0011,
  });
  assert.equal(aggregate.sessions.get("u1")?.get("s2")?.funnelSteps, 0b0101);
  assert.equal(aggregate.sessions.get("u1")?.get("s2")?.referrer, null);
});

Deno.test("the landing is the earliest view, ties broken by page and referrer, not by arrival", () => {
  const views = [
    event("view", "/b", { referrer: "x" }),
    event("view", "/a", { referrer: "z" }),
    event("view", "/a"),
    event("view", "/a", { referrer: "y" }),
    event("view", "/a", { referrer: 7 }),
  ];
  for (const order of [views, views.toReversed(), [views[3], views[0], views[4], views[2]]]) {
    const aggregate = emptySessionAggregate();
    for (const view of order) addSessionEvent(aggregate, view, T);
    const part = aggregate.sessions.get("u1")!.get("s1")!;
    // No referrer sorts first, and a non-string referrer is no referrer.
    assert.deepEqual([part.landingPage, part.referrer], ["/a", null]);
  }
  const aggregate = emptySessionAggregate();
  for (const referrer of ["\u{1F600}", "\uFFFD"]) {
    addSessionEvent(aggregate, event("view", "/", { referrer }), T);
  }
  // Code point order (PostgreSQL's "C" on UTF-8), not UTF-16 order: U+FFFD before U+1F600.
  assert.equal(aggregate.sessions.get("u1")!.get("s1")!.referrer, "\uFFFD");
});

Deno.test("page views are counted per minute and page; other types are not views", () => {
  const aggregate = emptySessionAggregate();
  addSessionEvent(aggregate, event("view", "/cart"), T + 59_999);
  addSessionEvent(aggregate, event("view", "/cart", { user: "u2" }), T);
  addSessionEvent(aggregate, event("view", "/"), T + 60_000);
  addSessionEvent(aggregate, event("click", "/"), T + 60_000);
  assert.deepEqual(pageViewColumns(aggregate), {
    minutes: [T / 1000, T / 1000 + 60],
    pages: ["/cart", "/"],
    views: [2, 1],
  });
});

Deno.test("session parts are laid out as one column entry per user and session", () => {
  const aggregate = emptySessionAggregate();
  addSessionEvent(aggregate, event("click", "/", { user: "u2" }), T);
  addSessionEvent(aggregate, event("view", "/checkout", { referrer: "ads" }), T + 1);
  assert.deepEqual(sessionColumns(aggregate), {
    users: ["u2", "u1"],
    sessionIds: ["s1", "s1"],
    firstMs: [T, T + 1],
    lastMs: [T, T + 1],
    events: [1, 1],
    pageViews: [0, 1],
    landingMs: [null, T + 1],
    landingPages: [null, "/checkout"],
    referrers: [null, "ads"],
    funnelSteps: [0, 0b1001],
  });
});
