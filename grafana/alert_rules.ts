/**
 * Grafana-managed alert rules in the file-provisioning format (`apiVersion: 1`, `groups`), built
 * with the SDK's rule and expression builders. Each rule: a PostgreSQL query over a relative window
 * returning one number per series, and a threshold expression on it.
 */
import * as alerting from "@grafana/grafana-foundation-sdk/alerting";
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as expr from "@grafana/grafana-foundation-sdk/expr";
import { DATASOURCE_UID, postgresQuery } from "./datasource.ts";
import { DASHBOARD_UID } from "./dashboard.ts";
import * as panelSql from "./panel_sql.ts";

/** The file `deno task grafana` writes under `grafana/provisioning/alerting/`. */
export const ALERT_RULES_FILE = "activity_alerts.json";

/** The folder the rules (and the dashboard) live in. */
export const ALERT_FOLDER = "Activity pipeline";

/** One rule as Grafana's provisioning file reads it (linked to its dashboard panel). */
export type ProvisionedRule = Omit<alerting.Rule, "folderUID" | "ruleGroup" | "orgID"> & {
  dashboardUid: string;
  panelId: number;
};

/** The whole provisioning file. */
export interface AlertRulesFile {
  apiVersion: 1;
  groups: Array<{
    orgId: number;
    name: string;
    folder: string;
    interval: string;
    rules: ProvisionedRule[];
  }>;
}

const EXPRESSION_UID = "__expr__";

interface RuleSpec {
  readonly uid: string;
  readonly title: string;
  readonly summary: string;
  readonly sql: string;
  readonly windowSeconds: number;
  readonly evaluator: { type: "gt" | "lt"; params: number[] };
  readonly noData: "OK" | "NoData" | "Alerting";
  readonly panelId: number;
}

const RULES: readonly RuleSpec[] = [
  {
    uid: "activity-no-events",
    title: "No events counted for 5 minutes",
    summary:
      "The consumers counted no event in the last 5 minutes: producer, Kafka or consumer down.",
    sql: panelSql.ALERT_EVENTS_COUNTED_SQL,
    windowSeconds: 300,
    evaluator: { type: "lt", params: [1] },
    // No row means no event was ever counted: a stack that has not started is not an outage.
    noData: "OK",
    panelId: 7,
  },
  {
    uid: "activity-rejected-share",
    title: "Rejected share above 1 % over 10 minutes",
    summary: "More than 1 % of the messages of the last 10 minutes were rejected: see the reasons.",
    sql: panelSql.ALERT_REJECTED_SHARE_SQL,
    windowSeconds: 600,
    evaluator: { type: "gt", params: [0.01] },
    noData: "NoData",
    panelId: 10,
  },
  {
    uid: "activity-lag-growing",
    title: "Consumer lag growing for 5 minutes",
    summary: "A partition's lag grew at every minute for 5 minutes: the consumers fall behind.",
    sql: panelSql.ALERT_LAG_GROWTH_SQL,
    // Six minute samples, so five steps.
    windowSeconds: 360,
    evaluator: { type: "gt", params: [0] },
    noData: "OK",
    panelId: 9,
  },
];

function sqlQuery(spec: RuleSpec): cog.Builder<alerting.Query> {
  return new alerting.QueryBuilder("A")
    .datasourceUid(DATASOURCE_UID)
    .relativeTimeRange({ from: spec.windowSeconds, to: 0 })
    .model({
      build: () => ({
        ...postgresQuery({ refId: "A", format: "table", sql: spec.sql }).build(),
        intervalMs: 60_000,
        maxDataPoints: 43_200,
      }),
    });
}

function threshold(spec: RuleSpec): cog.Builder<alerting.Query> {
  return new alerting.QueryBuilder("B")
    .datasourceUid(EXPRESSION_UID)
    .relativeTimeRange({ from: 0, to: 0 })
    .model(
      new expr.TypeThresholdBuilder()
        .refId("B")
        .datasource({ type: EXPRESSION_UID, uid: EXPRESSION_UID })
        .expression("A")
        .conditions([{ evaluator: spec.evaluator }]),
    );
}

function rule(spec: RuleSpec): ProvisionedRule {
  const built = new alerting.RuleBuilder(spec.title)
    .uid(spec.uid)
    .condition("B")
    .queries([sqlQuery(spec), threshold(spec)])
    .noDataState(spec.noData)
    .execErrState("Error")
    .forDuration("0s")
    .annotations({ summary: spec.summary })
    .labels({ pipeline: "activity" })
    .isPaused(false)
    .build();
  const { folderUID: _folder, ruleGroup: _group, orgID: _org, ...provisioned } = built;
  return { ...provisioned, dashboardUid: DASHBOARD_UID, panelId: spec.panelId };
}

/** Builds the alert rules provisioning file. */
export function buildAlertRules(): AlertRulesFile {
  return {
    apiVersion: 1,
    groups: [{
      orgId: 1,
      name: "activity-pipeline",
      folder: ALERT_FOLDER,
      interval: "1m",
      rules: RULES.map(rule),
    }],
  };
}
