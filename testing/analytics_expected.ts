/**
 * The product analytics a set of Kafka messages must produce, computed independently of the
 * consumer: messages parsed with plain `JSON.parse`, sessions, landings, funnel steps and length
 * buckets by this module's own reading of the documented rules (docs/architecture.md), and the
 * stored tables read back into the same shapes.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";

/** An accepted message as the analytics see it; `session` and `page` are null for legacy ones. */
export interface TopicEvent {
  readonly user: string;
  readonly session: string | null;
  readonly type: string;
  readonly atMs: number;
  readonly page: string | null;
  readonly referrer: string | null;
}

const KNOWN_TYPES = new Set(["view", "scroll", "click"]);
const MAX_BYTES = 16 * 1024;
const DAY_MS = 86_400_000;

/**
 * Reads one message value the way the consumer documents it accepts messages (the default
 * limits: 16 KiB, the default types, 5 minutes ahead, 30 days back); undefined when it must be
 * rejected. The old prototype's shape has no version, no id and a `timestamp`.
 */
export function parseTopicMessage(
  value: Uint8Array | null,
  nowMs: number,
): TopicEvent | undefined {
  if (value === null || value.length === 0 || value.length > MAX_BYTES) return undefined;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(value));
  } catch {
    return undefined;
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) return undefined;
  if (!KNOWN_TYPES.has(record.event_type as string)) return undefined;
  const legacy = !("version" in record) && !("event_id" in record) && "timestamp" in record;
  let event: TopicEvent;
  if (legacy) {
    const time = String(record.timestamp);
    event = {
      user: String(record.user_id),
      session: null,
      type: record.event_type as string,
      atMs: Date.parse(/(Z|[+-]\d\d:\d\d)$/i.test(time) ? time : `${time}Z`),
      page: null,
      referrer: null,
    };
  } else {
    if (record.version !== 1 || typeof record.event_id !== "string") return undefined;
    const properties = (record.properties ?? {}) as Record<string, unknown>;
    event = {
      user: record.user_id as string,
      session: record.session_id as string,
      type: record.event_type as string,
      atMs: Date.parse(record.occurred_at as string),
      page: record.page as string,
      referrer: typeof properties.referrer === "string" ? properties.referrer : null,
    };
  }
  if (event.atMs > nowMs + 300_000 || event.atMs < nowMs - 30 * DAY_MS) return undefined;
  return event;
}

/** One session as the `sessions` table must hold it. */
export interface ExpectedSession {
  readonly startedMs: number;
  readonly lastMs: number;
  readonly events: number;
  readonly pageViews: number;
  readonly landingPage: string | null;
  readonly referrer: string | null;
  readonly furthestStep: number;
}

// The default funnel, written out here rather than imported: a session reaches step k when it
// viewed a page of each of the steps 1..k, whatever the order.
const STEPS = [/^\//, /^\/products\/[^/]+$/, /^\/cart$/, /^\/checkout$/];

/** Sessions keyed `user|session`, from the canonical events (legacy ones have none). */
export function expectedSessions(events: readonly TopicEvent[]): Map<string, ExpectedSession> {
  const grouped = new Map<string, TopicEvent[]>();
  for (const event of events) {
    if (event.session === null) continue;
    const key = `${event.user}|${event.session}`;
    grouped.set(key, [...(grouped.get(key) ?? []), event]);
  }
  const sessions = new Map<string, ExpectedSession>();
  for (const [key, list] of grouped) {
    const views = list.filter((event) => event.type === "view").sort(byLanding);
    const reached = STEPS.findIndex((step) => !views.some((view) => step.test(view.page!)));
    sessions.set(key, {
      startedMs: Math.min(...list.map((event) => event.atMs)),
      lastMs: Math.max(...list.map((event) => event.atMs)),
      events: list.length,
      pageViews: views.length,
      landingPage: views[0]?.page ?? null,
      referrer: views[0]?.referrer ?? null,
      furthestStep: reached === -1 ? STEPS.length : reached,
    });
  }
  return sessions;
}

// Earliest first; at the same millisecond by page, then no referrer first, then referrer, in
// code point order (what PostgreSQL's "C" collation gives on UTF-8).
function byLanding(a: TopicEvent, b: TopicEvent): number {
  return a.atMs - b.atMs || codePoints(a.page!, b.page!) ||
    Number(a.referrer !== null) - Number(b.referrer !== null) ||
    codePoints(a.referrer ?? "", b.referrer ?? "");
}

/** The documented length bucket of a session (its lower bound in whole seconds). */
function lengthBucket(lengthMs: number): number {
  const s = Math.floor(lengthMs / 1000);
  if (s < 60) return s;
  if (s < 600) return s - (s % 5);
  if (s < 3600) return s - (s % 30);
  if (s < 86_400) return s - (s % 300);
  return 86_400;
}

/** An ISO hour key (`2024-05-01T16`) of epoch milliseconds. */
function isoHour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** Session rollup rows: `hour|referrer|step` → [sessions, page views, bounces]; `hour|length`. */
interface SessionRollups {
  readonly byHour: Map<string, [number, number, number]>;
  readonly byLength: Map<string, number>;
  /** `day|length`. */
  readonly byLengthDay: Map<string, number>;
}

/** The session rollups the sessions must add up to, keyed like `readSessionRollups`. */
function expectedSessionRollups(
  sessions: ReadonlyMap<string, ExpectedSession>,
): SessionRollups {
  const byHour = new Map<string, [number, number, number]>();
  const byLength = new Map<string, number>();
  const byLengthDay = new Map<string, number>();
  for (const session of sessions.values()) {
    const hour = isoHour(session.startedMs);
    const key = `${hour}|${session.referrer ?? ""}|${session.furthestStep}`;
    const [n, views, bounces] = byHour.get(key) ?? [0, 0, 0];
    byHour.set(key, [n + 1, views + session.pageViews, bounces + Number(session.pageViews === 1)]);
    const bucket = lengthBucket(session.lastMs - session.startedMs);
    const lengthKey = `${hour}|${bucket}`;
    byLength.set(lengthKey, (byLength.get(lengthKey) ?? 0) + 1);
    const dayKey = `${hour.slice(0, 10)}|${bucket}`;
    byLengthDay.set(dayKey, (byLengthDay.get(dayKey) ?? 0) + 1);
  }
  return { byHour, byLength, byLengthDay };
}

/** Page views per `minute|page` (ISO minute) of the canonical events. */
export function expectedPageViews(events: readonly TopicEvent[]): Map<string, number> {
  const views = new Map<string, number>();
  for (const event of events) {
    if (event.type !== "view" || event.session === null) continue;
    const key = `${new Date(event.atMs).toISOString().slice(0, 16)}|${event.page}`;
    views.set(key, (views.get(key) ?? 0) + 1);
  }
  return views;
}

/** The users with an event in each bucket (ISO prefix of 16, 13 or 10 characters), legacy too. */
export function expectedUsers(
  events: readonly TopicEvent[],
  prefix: 16 | 13 | 10,
): Map<string, Set<string>> {
  const users = new Map<string, Set<string>>();
  for (const event of events) {
    const bucket = new Date(event.atMs).toISOString().slice(0, prefix);
    users.set(bucket, (users.get(bucket) ?? new Set()).add(event.user));
  }
  return users;
}

/** The stored sessions in the shape of `expectedSessions`. */
async function readSessions(sql: postgres.Sql): Promise<Map<string, ExpectedSession>> {
  const rows = await sql`SELECT user_id, session_id, started_at, last_event_at, events,
      page_views, landing_page, referrer, furthest_step FROM sessions`;
  return new Map(rows.map((row) => [`${row.user_id}|${row.session_id}`, {
    startedMs: row.started_at.getTime(),
    lastMs: row.last_event_at.getTime(),
    events: row.events,
    pageViews: row.page_views,
    landingPage: row.landing_page,
    referrer: row.referrer,
    furthestStep: row.furthest_step,
  }]));
}

/** The stored session rollups without their emptied rows, keyed like `expectedSessionRollups`. */
async function readSessionRollups(sql: postgres.Sql): Promise<SessionRollups> {
  const hours = await sql`SELECT start_hour, referrer, furthest_step, sessions, page_views, bounces
    FROM session_hour WHERE sessions <> 0 OR page_views <> 0 OR bounces <> 0`;
  const lengths = await sql`SELECT start_hour, length_s, sessions FROM session_length_hour
    WHERE sessions <> 0`;
  const days = await sql`SELECT start_day, length_s, sessions FROM session_length_day
    WHERE sessions <> 0`;
  return {
    byHour: new Map(hours.map((row) => [
      `${isoHour(row.start_hour.getTime())}|${row.referrer}|${row.furthest_step}`,
      [Number(row.sessions), Number(row.page_views), Number(row.bounces)] as [
        number,
        number,
        number,
      ],
    ])),
    byLength: new Map(lengths.map((row) => [
      `${isoHour(row.start_hour.getTime())}|${row.length_s}`,
      Number(row.sessions),
    ])),
    byLengthDay: new Map(days.map((row) => [
      `${row.start_day.toISOString().slice(0, 10)}|${row.length_s}`,
      Number(row.sessions),
    ])),
  };
}

/** The stored page views per `minute|page`. */
async function readPageViews(sql: postgres.Sql): Promise<Map<string, number>> {
  const rows = await sql`SELECT to_char(event_minute AT TIME ZONE 'UTC',
      'YYYY-MM-DD"T"HH24:MI') || '|' || page AS key, views FROM page_view_minute`;
  return new Map(rows.map((row) => [row.key, Number(row.views)]));
}

/** The users each stored bitmap of a grain holds, keyed like `expectedUsers`. */
async function readBitmapUsers(
  sql: postgres.Sql,
  grain: "minute" | "hour" | "day",
): Promise<Map<string, Set<string>>> {
  const format = { minute: 'YYYY-MM-DD"T"HH24:MI', hour: 'YYYY-MM-DD"T"HH24', day: "YYYY-MM-DD" };
  // Table and column names come from the fixed grain above.
  const rows = await sql.unsafe(`SELECT to_char(b.event_${grain} AT TIME ZONE 'UTC',
      '${format[grain]}') AS bucket, n.user_id
    FROM user_bitmap_${grain} AS b CROSS JOIN generate_series(0, 4095) AS i
    JOIN user_numbers AS n ON n.user_number = b.chunk * 4096 + i
    WHERE get_bit(b.users, i) = 1`);
  const users = new Map<string, Set<string>>();
  for (const row of rows) {
    users.set(row.bucket, (users.get(row.bucket) ?? new Set()).add(row.user_id));
  }
  return users;
}

/** A panel's rows as `runAsGrafana` returns them (numbers for numeric columns). */
export type PanelRows = Record<string, unknown>[];

/**
 * What each product analytics panel must show for the range `from`..`to` (keys `panel 12 A` to
 * `panel 20 A`), by the documented rules: distinct users over the minutes starting in the range,
 * per whole UTC day it touches; sessions by the UTC hour they started, over the hours it
 * touches; page views per minute (per hour beyond 3 days).
 */
export function expectedPanels(
  events: readonly TopicEvent[],
  range: { readonly from: Date; readonly to: Date },
): Map<string, PanelRows> {
  const [from, to] = [range.from.getTime(), range.to.getTime()];
  const floor = (ms: number, step: number) => Math.floor(ms / step) * step;
  const users = (keep: (event: TopicEvent) => boolean) =>
    new Set(events.filter(keep).map((event) => event.user)).size;
  const days = [...new Set(events.map((event) => floor(event.atMs, DAY_MS)))]
    .filter((day) => day >= floor(from, DAY_MS) && day <= to).sort((a, b) => a - b);
  const sessions = [...expectedSessions(events).values()].filter((session) => {
    const hour = floor(session.startedMs, 3_600_000);
    return hour >= floor(from, 3_600_000) && hour <= to;
  });
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const count = sessions.length;
  const lengths = sessions.map((s) => lengthBucket(s.lastMs - s.startedMs)).sort((a, b) => a - b);
  // The smallest length whose running count reaches tenths/10 of the sessions (in integers).
  const percentile = (tenths: number) =>
    count === 0 ? null : lengths[lengths.findIndex((_, i) => 10 * (i + 1) >= tenths * count)];
  const perHour = new Map<number, number>();
  for (const session of sessions) {
    const hour = floor(session.startedMs, 3_600_000);
    perHour.set(hour, (perHour.get(hour) ?? 0) + 1);
  }
  const bucketMs = to - from > 3 * DAY_MS ? 3_600_000 : 60_000;
  const views = new Map<string, number>();
  for (const event of events) {
    const bucket = floor(event.atMs, bucketMs);
    if (event.type !== "view" || event.session === null || bucket < from || bucket > to) continue;
    views.set(event.page!, (views.get(event.page!) ?? 0) + 1);
  }
  const referrers = new Map<string, number>();
  for (const session of sessions) {
    const name = session.referrer === null || session.referrer === "" ? "(none)" : session.referrer;
    referrers.set(name, (referrers.get(name) ?? 0) + 1);
  }
  const top = (counts: Map<string, number>, column: string, value: string) =>
    [...counts].sort((a, b) => b[1] - a[1] || codePoints(a[0], b[0])).slice(0, 10)
      .map(([name, n]) => ({ [column]: name, [value]: n }));
  const reached = ["landing", "product page", "cart", "checkout"].map((step, i) => ({
    step,
    sessions: sessions.filter((session) => session.furthestStep > i).length,
  }));
  return new Map<string, PanelRows>([
    ["panel 12 A", [{
      distinct_users: users((e) => floor(e.atMs, 60_000) >= from && floor(e.atMs, 60_000) <= to),
    }]],
    ["panel 13 A", [{
      pages_per_session: count === 0 ? null : sum(sessions.map((s) => s.pageViews)) / count,
    }]],
    ["panel 14 A", [{
      bounce_rate: count === 0 ? null : sessions.filter((s) => s.pageViews === 1).length / count,
    }]],
    ["panel 15 A", [{ median_length: percentile(5), p90_length: percentile(9) }]],
    [
      "panel 16 A",
      days.map((day) => ({
        time: new Date(day),
        distinct_users: users((e) => floor(e.atMs, DAY_MS) === day),
      })),
    ],
    [
      "panel 17 A",
      [...perHour].sort((a, b) => a[0] - b[0])
        .map(([hour, n]) => ({ time: new Date(hour), sessions: n })),
    ],
    ["panel 18 A", top(views, "page", "views")],
    ["panel 19 A", top(referrers, "referrer", "sessions")],
    [
      "panel 20 A",
      reached.map((step, i) => ({
        ...step,
        from_previous_step: i === 0 || reached[i - 1].sessions === 0
          ? null
          : step.sessions / reached[i - 1].sessions,
        from_first_step: reached[0].sessions === 0 ? null : step.sessions / reached[0].sessions,
      })),
    ],
  ]);
}

function codePoints(x: string, y: string): number {
  const [p, q] = [[...x].map((c) => c.codePointAt(0)!), [...y].map((c) => c.codePointAt(0)!)];
  for (let i = 0; i < Math.min(p.length, q.length); i++) if (p[i] !== q[i]) return p[i] - q[i];
  return p.length - q.length;
}

/**
 * Asserts that the stored sessions, session rollups, page views and user bitmaps of every grain
 * are what `events` make; returns the expected sessions.
 */
export async function assertStoredAnalytics(
  sql: postgres.Sql,
  events: readonly TopicEvent[],
  label = "",
): Promise<Map<string, ExpectedSession>> {
  const sessions = expectedSessions(events);
  assert.deepEqual(await readSessions(sql), sessions, `${label} sessions`);
  assert.deepEqual(
    await readSessionRollups(sql),
    expectedSessionRollups(sessions),
    `${label} session rollups`,
  );
  assert.deepEqual(await readPageViews(sql), expectedPageViews(events), `${label} page views`);
  for (const [grain, prefix] of [["minute", 16], ["hour", 13], ["day", 10]] as const) {
    assert.deepEqual(
      await readBitmapUsers(sql, grain),
      expectedUsers(events, prefix),
      `${label} users per ${grain}`,
    );
  }
  return sessions;
}
