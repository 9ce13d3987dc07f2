/**
 * Sessions and page views, pure: each accepted event (old-prototype ones excepted: they have no
 * session and no page) leaves a merge of its session's part and, for a page view, one more view
 * of its (minute, page). A part is what the flush merges into `sessions`, with rules that give
 * the same row whatever order events and flushes come in: earliest start, latest event, sums,
 * the earliest page view as landing, and the union of funnel steps.
 */
import { type ActivityEvent, funnelStepsOf, minuteOf, PAGE_VIEW_TYPE } from "@activity/shared";

/** What the events of one session in one flush add up to. */
export interface SessionPart {
  firstMs: number;
  lastMs: number;
  events: number;
  pageViews: number;
  /** The earliest page view (null until one is seen): its time, page and `referrer` property. */
  landingMs: number | null;
  landingPage: string | null;
  referrer: string | null;
  /** Funnel steps whose pages were viewed (bit i: step i + 1). */
  funnelSteps: number;
}

/** Sessions (user → session id → part) and page views (minute in epoch ms → page → views). */
export interface SessionAggregate {
  readonly sessions: Map<string, Map<string, SessionPart>>;
  readonly pageViews: Map<number, Map<string, number>>;
}

/** An empty session aggregate. */
export function emptySessionAggregate(): SessionAggregate {
  return { sessions: new Map(), pageViews: new Map() };
}

/** Adds one accepted canonical event (never an old-prototype one) at `occurredAtMs`. */
export function addSessionEvent(
  aggregate: SessionAggregate,
  event: ActivityEvent,
  occurredAtMs: number,
): void {
  let byId = aggregate.sessions.get(event.user_id);
  if (byId === undefined) aggregate.sessions.set(event.user_id, byId = new Map());
  let part = byId.get(event.session_id);
  if (part === undefined) {
    part = {
      firstMs: occurredAtMs,
      lastMs: occurredAtMs,
      events: 0,
      pageViews: 0,
      landingMs: null,
      landingPage: null,
      referrer: null,
      funnelSteps: 0,
    };
    byId.set(event.session_id, part);
  }
  part.events++;
  if (occurredAtMs < part.firstMs) part.firstMs = occurredAtMs;
  if (occurredAtMs > part.lastMs) part.lastMs = occurredAtMs;
  if (event.event_type !== PAGE_VIEW_TYPE) return;
  part.pageViews++;
  part.funnelSteps |= funnelStepsOf(event.page);
  const referrer = typeof event.properties?.referrer === "string"
    ? event.properties.referrer
    : null;
  if (
    part.landingMs === null || occurredAtMs < part.landingMs ||
    (occurredAtMs === part.landingMs && compareLandings(
          { landingMs: occurredAtMs, landingPage: event.page, referrer },
          { landingMs: part.landingMs, landingPage: part.landingPage!, referrer: part.referrer },
        ) < 0)
  ) {
    part.landingMs = occurredAtMs;
    part.landingPage = event.page;
    part.referrer = referrer;
  }
  const minute = minuteOf(occurredAtMs);
  let byPage = aggregate.pageViews.get(minute);
  if (byPage === undefined) aggregate.pageViews.set(minute, byPage = new Map());
  byPage.set(event.page, (byPage.get(event.page) ?? 0) + 1);
}

/** A page view that may be a session's landing. */
interface Landing {
  readonly landingMs: number;
  readonly landingPage: string;
  readonly referrer: string | null;
}

/**
 * The order that picks a session's landing view: earlier first; at the same millisecond, page,
 * then no referrer before any, then referrer, both in code point order. The flush statement
 * merges stored landings in the same order (`COLLATE "C"`: UTF-8 byte order is code point order),
 * so ties never depend on which view arrived first.
 */
function compareLandings(a: Landing, b: Landing): number {
  return a.landingMs - b.landingMs || compareCodePoints(a.landingPage, b.landingPage) ||
    Number(a.referrer !== null) - Number(b.referrer !== null) ||
    compareCodePoints(a.referrer ?? "", b.referrer ?? "");
}

function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order differs from code point order only when a surrogate meets U+E000..U+FFFF.
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** Session parts as the flush statement's columns (times in epoch ms). */
export interface SessionColumns {
  readonly users: string[];
  readonly sessionIds: string[];
  readonly firstMs: number[];
  readonly lastMs: number[];
  readonly events: number[];
  readonly pageViews: number[];
  readonly landingMs: (number | null)[];
  readonly landingPages: (string | null)[];
  readonly referrers: (string | null)[];
  readonly funnelSteps: number[];
}

/** Lays out the session parts as columns, one entry per (user, session). */
export function sessionColumns(aggregate: SessionAggregate): SessionColumns {
  const columns: SessionColumns = {
    users: [],
    sessionIds: [],
    firstMs: [],
    lastMs: [],
    events: [],
    pageViews: [],
    landingMs: [],
    landingPages: [],
    referrers: [],
    funnelSteps: [],
  };
  for (const [user, byId] of aggregate.sessions) {
    for (const [sessionId, part] of byId) {
      columns.users.push(user);
      columns.sessionIds.push(sessionId);
      columns.firstMs.push(part.firstMs);
      columns.lastMs.push(part.lastMs);
      columns.events.push(part.events);
      columns.pageViews.push(part.pageViews);
      columns.landingMs.push(part.landingMs);
      columns.landingPages.push(part.landingPage);
      columns.referrers.push(part.referrer);
      columns.funnelSteps.push(part.funnelSteps);
    }
  }
  return columns;
}

/** Page views per (minute, page) as columns; minutes are epoch seconds. */
export interface PageViewColumns {
  readonly minutes: number[];
  readonly pages: string[];
  readonly views: number[];
}

/** Lays out the page views as columns. */
export function pageViewColumns(aggregate: SessionAggregate): PageViewColumns {
  const columns: PageViewColumns = { minutes: [], pages: [], views: [] };
  for (const [minuteMs, byPage] of aggregate.pageViews) {
    for (const [page, views] of byPage) {
      columns.minutes.push(minuteMs / 1000);
      columns.pages.push(page);
      columns.views.push(views);
    }
  }
  return columns;
}
