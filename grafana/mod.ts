/**
 * The Grafana side of the pipeline as it is provisioned: the datasource, the dashboard and its
 * panel SQL, the alert rules, and the generator of their files. The emulation of Grafana that
 * tests and the benchmark run the SQL through is `@activity/grafana/emulation`.
 *
 * @module
 */
export * from "./datasource.ts";
export * from "./dashboard.ts";
export * from "./alert_rules.ts";
export { generatedFiles, GRAFANA_DIR, staleFiles } from "./generate.ts";
