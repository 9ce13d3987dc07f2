/**
 * The pure core both programs use: the canonical event and its decoder, UTC
 * bucketing, configuration parsing, the logger and the metrics registry. No
 * module here does I/O; the edges are `@activity/shared/runtime` (process,
 * health server) and `@activity/shared/kafka`.
 *
 * @module
 */
export * from "./event.ts";
export * from "./bucket.ts";
export * from "./analytics.ts";
export * from "./config.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./replication.ts";
export * from "./sleep.ts";
export * from "./clock.ts";
