/**
 * The event module both programs use: the canonical event and its decoder,
 * UTC bucketing, configuration, logging and metrics.
 *
 * @module
 */
export * from "./event.ts";
export * from "./bucket.ts";
export * from "./config.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./replication.ts";
export * from "./runtime.ts";
export * from "./sleep.ts";
