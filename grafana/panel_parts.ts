/**
 * What the dashboard's panels share: grid positions, the legend, thresholds, and panel builders
 * preset to the provisioned datasource with the options every panel of a kind uses.
 */
import * as barchart from "@grafana/grafana-foundation-sdk/barchart";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { datasourceRef } from "./datasource.ts";

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
