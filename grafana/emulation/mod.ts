/**
 * Grafana emulated for tests and the benchmark (no Grafana server can run here): the PostgreSQL
 * macro expansion, time ranges and intervals as Grafana's frontend and backend compute them, the
 * dashboard's queries expanded for a moment, synthetic data and query timing. Nothing here is
 * provisioned; the product is `@activity/grafana`.
 *
 * @module
 */
export * from "./macros.ts";
export * from "./time_range.ts";
export * from "./panel_queries.ts";
export * from "./synthetic_data.ts";
export * from "./query_cost.ts";
