/**
 * The activity dashboard as code (Grafana Foundation SDK). Every panel and target names the
 * provisioned datasource by uid; the range is relative, in UTC, refreshed every 30 s.
 */
import type * as barchart from "@grafana/grafana-foundation-sdk/barchart";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as piechart from "@grafana/grafana-foundation-sdk/piechart";
import type * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import type * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { analyticsRow } from "./analytics_panels.ts";
import { datasourceRef, postgresQuery } from "./datasource.ts";
import {
  barChartPanel,
  type Grid,
  grid,
  statOf,
  thresholds,
  timeSeriesPanel,
} from "./panel_parts.ts";
import * as panelSql from "./panel_sql.ts";

/** The dashboard's fixed uid (its URL is /d/activity-pipeline). */
export const DASHBOARD_UID = "activity-pipeline";

/** The file `deno task grafana` writes under `grafana/dashboards/`. */
export const DASHBOARD_FILE = "activity_pipeline.json";

/** A time series of one query in plain numbers, its description and axis label first. */
function timeSeriesOf(
  id: number,
  title: string,
  gridPos: Grid,
  options: { description: string; sql: string; axisLabel?: string; maxDataPoints?: number },
): timeseries.PanelBuilder {
  const panel = timeSeriesPanel(id, title, gridPos);
  if (options.maxDataPoints !== undefined) panel.maxDataPoints(options.maxDataPoints);
  panel.description(options.description)
    .withTarget(postgresQuery({ refId: "A", format: "time_series", sql: options.sql }));
  if (options.axisLabel !== undefined) panel.axisLabel(options.axisLabel);
  return panel.unit("short");
}

function eventsToday(): stat.PanelBuilder {
  return statOf(1, "Events counted today (UTC)", grid(0, 0, 8, 6), {
    description: "Sum of event_type_minute since 00:00 UTC, by event time.",
    timeFrom: "now/d",
    sql: panelSql.EVENTS_TODAY_SQL,
    unit: "short",
    decimals: 0,
  });
}

function freshness(): stat.PanelBuilder {
  return statOf(2, "Pipeline freshness", grid(8, 0, 8, 6), {
    description: "Seconds since the newest counted minute began (event_type_minute) and since a " +
      "consumer last committed (consumer_offsets).",
    sql: [panelSql.NEWEST_EVENT_AGE_SQL, panelSql.LAST_COMMIT_AGE_SQL],
    unit: "s",
    decimals: 0,
  })
    .thresholds(thresholds([
      { value: null, color: "green" },
      { value: 180, color: "orange" },
      { value: 600, color: "red" },
    ]))
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.ValueAndName)
    .overrideByName("newest_event_age", [{ id: "displayName", value: "newest event" }])
    .overrideByName("last_commit_age", [{ id: "displayName", value: "last commit" }]);
}

function topUsers(): barchart.PanelBuilder {
  return barChartPanel(3, "Top 5 active users (last hour)", {
    gridPos: grid(16, 0, 8, 6),
    xField: "user_id",
  })
    .description("Users with the most events in the last hour, from user_event_summary.")
    .timeFrom("1h")
    .withTarget(postgresQuery({ refId: "A", format: "table", sql: panelSql.TOP_USERS_SQL }));
}

function eventRate(): timeseries.PanelBuilder {
  return timeSeriesOf(4, "Event rate per minute, by type", grid(0, 6, 16, 9), {
    description: "Average events per minute in each bucket: event_type_minute up to 3 days, " +
      "event_type_hour beyond.",
    sql: panelSql.EVENT_RATE_SQL,
    axisLabel: "events / min",
  });
}

function eventTypes(): piechart.PanelBuilder {
  return new piechart.PanelBuilder()
    .id(5)
    .title("Events by type (selected range)")
    .description(
      "Share of each event type: event_type_minute up to 3 days, event_type_hour beyond.",
    )
    .datasource(datasourceRef())
    .gridPos(grid(16, 6, 8, 9))
    .withTarget(postgresQuery({ refId: "A", format: "table", sql: panelSql.EVENT_TYPES_SQL }))
    .pieType(piechart.PieChartType.Donut)
    .displayLabels([piechart.PieChartLabels.Name, piechart.PieChartLabels.Percent])
    // Every row is a slice, named by its event_type.
    .reduceOptions(
      new common.ReduceDataOptionsBuilder().values(true).calcs([]).fields("/^events$/"),
    )
    .legend(
      new piechart.PieChartLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .values([piechart.PieChartLegendValues.Value, piechart.PieChartLegendValues.Percent])
        .calcs([]),
    )
    .unit("short");
}

function activeUsers(): timeseries.PanelBuilder {
  return timeSeriesOf(6, "Active users per minute", grid(0, 15, 12, 8), {
    description: "Distinct users with an event in each minute (active_users_minute), averaged.",
    sql: panelSql.ACTIVE_USERS_SQL,
  });
}

function ingestThroughput(): timeseries.PanelBuilder {
  return timeSeriesOf(7, "Ingest throughput", grid(12, 15, 12, 8), {
    description: "Messages the consumers handled per minute and bytes per second (ingest_minute).",
    sql: panelSql.INGEST_THROUGHPUT_SQL,
    axisLabel: "messages / min",
  }).overrideByName("bytes_per_second", [
    { id: "unit", value: "Bps" },
    { id: "custom.axisPlacement", value: "right" },
    { id: "custom.axisLabel", value: "bytes / s" },
  ]);
}

function dataVolume(): timeseries.PanelBuilder {
  return timeSeriesOf(8, "Data volume growth", grid(0, 23, 10, 8), {
    // Sizes move slowly; 200 points keep 10 tables × 30 days to 2 000 rows.
    maxDataPoints: 200,
    description: "Events counted since the beginning (ingest_minute) and the size of each table " +
      "(storage_samples, stacked).",
    sql: panelSql.CUMULATIVE_EVENTS_SQL,
    axisLabel: "events",
  })
    .withTarget(
      postgresQuery({ refId: "B", format: "time_series", sql: panelSql.STORED_BYTES_SQL }),
    )
    .overrideByQuery("B", [
      { id: "unit", value: "bytes" },
      { id: "custom.axisPlacement", value: "right" },
      { id: "custom.axisLabel", value: "stored" },
      { id: "custom.stacking", value: { mode: "normal", group: "B" } },
    ]);
}

function consumerLag(): timeseries.PanelBuilder {
  return timeSeriesOf(9, "Consumer lag per partition", grid(10, 23, 10, 8), {
    // One probe per partition and bucket: 300 buckets whatever the range.
    maxDataPoints: 300,
    description: "Messages behind the high watermark at each commit (consumer_lag_minute).",
    sql: panelSql.CONSUMER_LAG_SQL,
    axisLabel: "messages",
  });
}

function lostMessages(): stat.PanelBuilder {
  return statOf(22, "Messages lost before they were read", grid(20, 23, 4, 8), {
    description: "Messages Kafka's retention removed before a consumer group read them, in the " +
      "range (consumer_offset_gaps): never counted, never skipped silently.",
    sql: panelSql.LOST_MESSAGES_SQL,
    unit: "short",
    decimals: 0,
  })
    .thresholds(thresholds([{ value: null, color: "green" }, { value: 1, color: "red" }]))
    .colorMode(common.BigValueColorMode.Value);
}

function rejectionRate(): timeseries.PanelBuilder {
  return timeSeriesOf(10, "Rejected events per minute, by reason", grid(0, 31, 12, 9), {
    description: "Messages not counted, per reason (rejected_minute).",
    sql: panelSql.REJECTION_RATE_SQL,
    axisLabel: "rejected / min",
  });
}

function latestRejections(): table.PanelBuilder {
  return new table.PanelBuilder()
    .id(11)
    .title("Latest rejected events")
    .description("The 100 newest rejections in the range with their detail (rejected_events).")
    .datasource(datasourceRef())
    .gridPos(grid(12, 31, 12, 9))
    .withTarget(
      postgresQuery({ refId: "A", format: "table", sql: panelSql.LATEST_REJECTIONS_SQL }),
    )
    .showHeader(true)
    .filterable(true);
}

/** Builds the dashboard model (schema version 41: loads unchanged on every Grafana 12.x). */
export function buildActivityDashboard(): dashboard.Dashboard {
  const built = new dashboard.DashboardBuilder("Activity pipeline")
    .uid(DASHBOARD_UID)
    .description("User activity counted by the pipeline: producer → Kafka → consumer → PostgreSQL.")
    .tags(["activity", "pipeline"])
    .timezone("utc")
    .readonly()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: "now-6h", to: "now" })
    .refresh("30s")
    .annotations([])
    .variables([])
    .withPanel(eventsToday())
    .withPanel(freshness())
    .withPanel(topUsers())
    .withPanel(eventRate())
    .withPanel(eventTypes())
    .withPanel(activeUsers())
    .withPanel(ingestThroughput())
    .withPanel(dataVolume())
    .withPanel(consumerLag())
    .withPanel(lostMessages())
    .withPanel(rejectionRate())
    .withPanel(latestRejections());
  const analytics = analyticsRow();
  built.withRow(analytics.row);
  for (const panel of analytics.panels) built.withPanel(panel);
  return { ...built.build(), schemaVersion: 41 };
}
