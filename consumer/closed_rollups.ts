/**
 * Materialising the per-user hourly and daily rollups of closed buckets
 * (sql/0007): an hour is closed once it ended over `ROLLUP_CLOSE_LAG_MS` ago,
 * a day once all its hours are. One transaction reads the per-minute rows of
 * the hours newly closed, writes their rollups and advances the watermark,
 * under the lock every flush reads the watermark with, so each event reaches
 * a rollup exactly once: from here, or from its own flush when it is later
 * than the watermark.
 */
import type postgres from "postgres";
import { DAY_MS, HOUR_MS } from "@activity/shared";

/** How long after an hour ends its rollup is written (later events then add to it directly). */
const ROLLUP_CLOSE_LAG_MS = HOUR_MS;

/** Where the watermark should be at `nowMs`: the hour and day boundaries before it. */
export function closedBefore(nowMs: number): { hours: Date; days: Date } {
  const hours = Math.floor((nowMs - ROLLUP_CLOSE_LAG_MS) / HOUR_MS) * HOUR_MS;
  return { hours: new Date(hours), days: new Date(Math.floor(hours / DAY_MS) * DAY_MS) };
}

/** What one run closed. */
export interface ClosedRollups {
  readonly hourRows: number;
  readonly dayRows: number;
  /** The watermark after the run, as PostgreSQL writes it (it may be "infinity"). */
  readonly hoursClosedBefore: string;
}

/**
 * Materialises the rollups of the buckets closed by `nowMs` (nothing when none are new). The
 * watermark stays in SQL (it may be -infinity or infinity, which a JavaScript date cannot hold).
 */
export async function closeRollups(sql: postgres.Sql, nowMs: number): Promise<ClosedRollups> {
  const target = closedBefore(nowMs);
  return await sql.begin(async (tx) => {
    await tx`SELECT 1 FROM rollup_watermark FOR UPDATE`;
    // Flushes write closed rows only before the old watermark, so these rows are new, except
    // where sql/0007 left a watermark of the hour after the upgrade: an event up to the future
    // tolerance ahead, flushed before the upgrade, may have given that hour a row already. Its
    // minutes are all summed here (the hour was open), so the sum replaces the row.
    const hourRows = (await tx`
      INSERT INTO user_event_hourly_closed (user_id, event_hour, event_type, event_count)
      SELECT user_id, event_hour, event_type, sum(event_count) FROM user_event_summary
      WHERE event_minute >= (SELECT hours_closed_before FROM rollup_watermark)
        AND event_minute < ${target.hours}
      GROUP BY 1, 2, 3
      ORDER BY 1, 2, 3
      ON CONFLICT (user_id, event_hour, event_type)
      DO UPDATE SET event_count = EXCLUDED.event_count`).count;
    // Each closing day is summed whole from its hours, which are all closed by now, and the sum
    // is its row. A day's watermark is at its start, except where sql/0007 ran in the middle of
    // a day: that day already has a row, kept by flushes before the upgrade, and adding its later
    // hours to it would count twice an event flushed then that was ahead of the watermark (up to
    // the future tolerance); its earlier hours are in the hourly rows, kept whole the same way.
    const dayRows = (await tx`
      INSERT INTO user_event_daily_closed (user_id, event_day, event_type, event_count)
      SELECT user_id, date_trunc('day', event_hour, 'UTC'), event_type, sum(event_count)
      FROM user_event_hourly_closed
      WHERE event_hour >= (SELECT date_trunc('day', days_closed_before, 'UTC') FROM rollup_watermark)
        AND event_hour < ${target.days}
      GROUP BY 1, 2, 3
      ORDER BY 1, 2, 3
      ON CONFLICT (user_id, event_day, event_type)
      DO UPDATE SET event_count = EXCLUDED.event_count`).count;
    const [mark] = await tx<{ closed: string }[]>`UPDATE rollup_watermark SET
      hours_closed_before = greatest(hours_closed_before, ${target.hours}),
      days_closed_before = greatest(days_closed_before, ${target.days})
      RETURNING hours_closed_before::text AS closed`;
    return { hourRows, dayRows, hoursClosedBefore: mark.closed };
  });
}
