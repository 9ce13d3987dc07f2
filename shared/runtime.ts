/**
 * The runtime edges both programs share: the process (configuration, logger,
 * signals) and the health/metrics HTTP server. Everything here does I/O; the
 * pure core is `@activity/shared` itself.
 *
 * @module
 */
export * from "./process.ts";
export * from "./health_server.ts";
