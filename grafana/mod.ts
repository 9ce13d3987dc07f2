/**
 * The Grafana side of the pipeline: the dashboard and alert rules as code, Grafana's PostgreSQL
 * macro expansion (to run panel SQL without a Grafana server), synthetic data and query timing.
 *
 * @module
 */
export * from "./datasource.ts";
export * from "./dashboard.ts";
export * from "./alert_rules.ts";
export * from "./macros.ts";
export * from "./time_range.ts";
export * from "./panel_queries.ts";
export { generatedFiles, GRAFANA_DIR, staleFiles, writeGeneratedFiles } from "./generate.ts";
export * from "./synthetic_data.ts";
export * from "./query_cost.ts";
