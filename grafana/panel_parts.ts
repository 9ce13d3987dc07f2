/**
 * What the dashboard's panels share: grid positions, the legend, thresholds, and panel builders
 * preset to the provisioned datasource with the options every panel of a kind uses.
 */
import * as barchart from "@grafana/grafana-foundation-sdk/barchart";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { datasourceRef, postgresQuery } from "./datasource.ts";

/** A panel's place on the 24-column grid. */
export type Grid = dashboard.GridPos;

/** A grid position. */
export function grid(x: number, y: number, w: number, h: number): Grid {
  return { x, y, w, h };
}

/** A list legend below the panel. */
export function legend(): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)
    .calcs([]);
}

/** Absolute thresholds. */
export function thresholds(steps: dashboard.Threshold[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps);
}

/** A time series of minute tables (buckets of at least a minute). */
export function timeSeriesPanel(id: number, title: string, gridPos: Grid): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(datasourceRef())
    .gridPos(gridPos)
    // Minute tables: a bucket narrower than a minute would only show gaps.
    .interval("1m")
    .legend(legend())
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi))
    .lineWidth(1)
    .fillOpacity(10)
    .spanNulls(false);
}

/** A stat of the last value of each field, without a graph or colour. */
export function statPanel(id: number, title: string, gridPos: Grid): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(datasourceRef())
    .gridPos(gridPos)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false));
}

/** What a stat of raw-SQL table queries shows. */
export interface StatOptions {
  readonly description: string;
  /** One table target per query, refIds A, B, ... in order. */
  readonly sql: string | readonly string[];
  readonly unit: string;
  readonly decimals?: number;
  /** The panel's own range (e.g. `now/d`) instead of the dashboard's. */
  readonly timeFrom?: string;
}

/** A stat panel of table queries, its description, own range, targets, unit and decimals set. */
export function statOf(
  id: number,
  title: string,
  gridPos: Grid,
  options: StatOptions,
): stat.PanelBuilder {
  // The call order is the generated JSON's key order: description, timeFrom, targets, fieldConfig.
  const panel = statPanel(id, title, gridPos).description(options.description);
  if (options.timeFrom !== undefined) panel.timeFrom(options.timeFrom);
  const queries = typeof options.sql === "string" ? [options.sql] : options.sql;
  queries.forEach((sql, i) => {
    panel.withTarget(postgresQuery({ refId: String.fromCharCode(65 + i), format: "table", sql }));
  });
  panel.unit(options.unit);
  return options.decimals === undefined ? panel : panel.decimals(options.decimals);
}

/** Horizontal bars, one per row of a table, named by `xField`, with their values shown. */
export function barChartPanel(
  id: number,
  title: string,
  options: { gridPos: Grid; xField: string },
): barchart.PanelBuilder {
  return new barchart.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(datasourceRef())
    .gridPos(options.gridPos)
    .xField(options.xField)
    .orientation(common.VizOrientation.Horizontal)
    .showValue(common.VisibilityMode.Always)
    .legend(legend().showLegend(false))
    .unit("short");
}
