/**
 * The dashboard's product analytics row: distinct users, sessions, pages, referrers and the
 * funnel, from the rollups of sql/0005 (`analytics_sql.ts`). Session panels count sessions by
 * the UTC hour they started, over the hours the range touches.
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import type * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import * as sql from "./analytics_sql.ts";
import { datasourceRef, postgresQuery, type QueryFormat } from "./datasource.ts";
import {
  barChartPanel,
  type Grid,
  grid,
  legend,
  statOf,
  type StatOptions,
  timeSeriesPanel,
} from "./panel_parts.ts";

/** Where the row starts: below the pipeline panels. */
const TOP = 40;

function target(format: QueryFormat, text: string): cog.Builder<cog.Dataquery> {
  return postgresQuery({ refId: "A", format, sql: text });
}

function barsPerBucket(id: number, title: string, gridPos: Grid): timeseries.PanelBuilder {
  return timeSeriesPanel(id, title, gridPos)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60)
    .legend(legend().showLegend(false))
    .unit("short")
    .decimals(0);
}

/** A stat of the top line of the row, at column `x`. */
function topStat(
  id: number,
  title: string,
  options: StatOptions & { x: number },
): stat.PanelBuilder {
  const { x, ...shown } = options;
  return statOf(id, title, grid(x, TOP + 1, 6, 5), shown);
}

function panels(): cog.Builder<dashboard.Panel>[] {
  const y = TOP + 1;
  return [
    topStat(12, "Distinct users (selected range)", {
      x: 0,
      description: "Users with an event in the range's minutes, counted once: the OR of the user " +
        "bitmaps of its whole days, edge hours and edge minutes (user_bitmap_day/hour/minute).",
      sql: sql.DISTINCT_USERS_SQL,
      unit: "short",
      decimals: 0,
    }),
    topStat(13, "Pages per session", {
      x: 6,
      description: "Page views per session started in the range's hours (session_hour).",
      sql: sql.PAGES_PER_SESSION_SQL,
      unit: "short",
      decimals: 2,
    }),
    topStat(14, "Bounce rate (sessions with one page view)", {
      x: 12,
      description: "Share of the sessions started in the range's hours with exactly one page view.",
      sql: sql.BOUNCE_RATE_SQL,
      unit: "percentunit",
      decimals: 1,
    }),
    topStat(15, "Session length: median and p90", {
      x: 18,
      description: "First to last event of the sessions started in the range's hours, at the " +
        "resolution of the length buckets of session_length_day/hour (1 s under a minute, 5 s " +
        "under 10 min, 30 s under an hour).",
      sql: sql.SESSION_LENGTH_SQL,
      unit: "s",
    })
      .textMode(common.BigValueTextMode.ValueAndName)
      .overrideByName("median_length", [{ id: "displayName", value: "median" }])
      .overrideByName("p90_length", [{ id: "displayName", value: "p90" }]),
    barsPerBucket(16, "Distinct users per day (UTC)", grid(0, y + 5, 12, 8))
      .description("Users with an event in each whole UTC day the range touches (user_bitmap_day).")
      .interval("1d")
      .withTarget(target("time_series", sql.DISTINCT_USERS_PER_DAY_SQL)),
    barsPerBucket(17, "Sessions started per hour", grid(12, y + 5, 12, 8))
      .description("Sessions by the UTC hour of their first event (session_hour).")
      .interval("1h")
      .withTarget(target("time_series", sql.SESSIONS_PER_HOUR_SQL)),
    barChartPanel(18, "Top 10 pages by views", { gridPos: grid(0, y + 13, 8, 10), xField: "page" })
      .description(
        "Page views in the range: page_view_minute up to 3 days, page_view_hour beyond.",
      )
      .withTarget(target("table", sql.TOP_PAGES_SQL)),
    barChartPanel(19, "Top referrers by sessions", {
      gridPos: grid(8, y + 13, 8, 10),
      xField: "referrer",
    })
      .description("Sessions started in the range's hours by the referrer of their landing view.")
      .withTarget(target("table", sql.TOP_REFERRERS_SQL)),
    new table.PanelBuilder()
      .id(20)
      .title("Funnel: sessions per step and conversion")
      .description(
        "Sessions started in the range's hours that viewed a page of every step up to this one " +
          "(landing → product page → cart → checkout), and the share of the previous and first step.",
      )
      .datasource(datasourceRef())
      .gridPos(grid(16, y + 13, 8, 10))
      .withTarget(target("table", sql.FUNNEL_SQL))
      .showHeader(true)
      .overrideByName("from_previous_step", [{ id: "unit", value: "percentunit" }])
      .overrideByName("from_first_step", [{ id: "unit", value: "percentunit" }]),
  ];
}

/** The row and its panels, laid out from y = 40 (panel ids 12-20, the row 21). */
export function analyticsRow(): {
  row: dashboard.RowBuilder;
  panels: cog.Builder<dashboard.Panel>[];
} {
  return {
    row: new dashboard.RowBuilder("Product analytics").id(21).gridPos(grid(0, TOP, 24, 1))
      .collapsed(false),
    panels: panels(),
  };
}
