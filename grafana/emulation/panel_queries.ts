/**
 * Every SQL query the dashboard and the alert rules send, and that SQL as Grafana's backend would
 * run it for a given "now": panel time override or dashboard range, `$__interval`, macros. Pure.
 */
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type { AlertRulesFile } from "../alert_rules.ts";
import type { PostgresTarget, QueryFormat } from "../datasource.ts";
import { expandMacros } from "./macros.ts";
import { panelTimeRange, queryIntervalMs, type TimeRange } from "./time_range.ts";

/** One query of a panel or an alert rule, with what decides its range and interval. */
export interface PanelQuery {
  /** `panel 4 A` or `alert activity-no-events A`: unique, stable. */
  readonly key: string;
  readonly title: string;
  readonly refId: string;
  readonly format: QueryFormat;
  readonly rawSql: string;
  /** The panel's relative-time override (`1h`, `now/d`). */
  readonly timeFrom?: string;
  /** The panel's minimum interval. */
  readonly minInterval?: string;
  /** The panel's own number of data points (else its width). */
  readonly maxDataPoints?: number;
  /** For an alert query: its window in seconds before now, and its fixed interval. */
  readonly alertWindow?: { readonly seconds: number; readonly intervalMs: number };
}

/** The queries of every panel (rows included) and of every alert rule. */
export function collectQueries(
  model: dashboard.Dashboard,
  rules?: AlertRulesFile,
): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const panel of panelsOf(model)) {
    for (const target of (panel.targets ?? []) as unknown as PostgresTarget[]) {
      queries.push({
        key: `panel ${panel.id} ${target.refId}`,
        title: panel.title ?? "",
        refId: target.refId,
        format: target.format,
        rawSql: target.rawSql,
        timeFrom: panel.timeFrom,
        minInterval: panel.interval,
        maxDataPoints: panel.maxDataPoints,
      });
    }
  }
  for (const rule of rules?.groups.flatMap((group) => group.rules) ?? []) {
    for (const query of rule.data) {
      const model = query.model as Partial<PostgresTarget> & { intervalMs?: number };
      if (typeof model.rawSql !== "string") continue; // an expression, not SQL
      queries.push({
        key: `alert ${rule.uid} ${query.refId}`,
        title: rule.title,
        refId: query.refId ?? "",
        format: model.format ?? "table",
        rawSql: model.rawSql,
        alertWindow: {
          seconds: query.relativeTimeRange?.from ?? 600,
          intervalMs: model.intervalMs ?? 1_000,
        },
      });
    }
  }
  return queries;
}

/** Every panel of a dashboard, including those inside rows. */
export function panelsOf(model: dashboard.Dashboard): dashboard.Panel[] {
  const panels: dashboard.Panel[] = [];
  for (const panel of model.panels ?? []) {
    if (panel.type === "row") {
      panels.push(...((panel as dashboard.RowPanel).panels ?? []));
    } else {
      panels.push(panel as dashboard.Panel);
    }
  }
  return panels;
}

/** How a query is run. */
export interface RunOptions {
  /** The moment the dashboard is looked at. */
  readonly now: Date;
  /** The dashboard's range (default: the dashboard's own, e.g. `now-6h` → `now`). */
  readonly range?: { readonly from: string; readonly to: string };
  /** Data points of panels without their own (their width in pixels); 1 000 when absent. */
  readonly maxDataPoints?: number;
}

/** A query ready to run: the SQL Grafana would send and the range and interval it used. */
export interface ExpandedQuery {
  readonly sql: string;
  readonly range: TimeRange;
  readonly intervalMs: number;
}

/** Expands a query exactly as Grafana would for the given moment and dashboard range. */
export function expandQuery(
  query: PanelQuery,
  dashboardTime: { readonly from: string; readonly to: string },
  options: RunOptions,
): ExpandedQuery {
  let range: TimeRange;
  let intervalMs: number;
  if (query.alertWindow) {
    range = {
      from: new Date(options.now.getTime() - query.alertWindow.seconds * 1000),
      to: options.now,
    };
    intervalMs = query.alertWindow.intervalMs;
  } else {
    range = panelTimeRange(options.range ?? dashboardTime, query.timeFrom, options.now);
    intervalMs = queryIntervalMs(range, {
      maxDataPoints: query.maxDataPoints ?? options.maxDataPoints,
      minInterval: query.minInterval,
    });
  }
  return {
    sql: expandMacros(query.rawSql, { from: range.from, to: range.to, intervalMs }),
    range,
    intervalMs,
  };
}
