/** The HTTP edge of both programs: `/metrics`, `/healthz` and `/readyz`. */
import type { Logger } from "./log.ts";
import type { MetricsRegistry } from "./metrics.ts";

/** What the health endpoint reports. */
export interface HealthSources {
  readonly metrics: MetricsRegistry;
  /** Ready to do its work (partitions assigned, database reachable, ...). */
  readonly ready?: () => boolean | Promise<boolean>;
}

/** Serves `/metrics`, `/healthz` and `/readyz` on `port` (0 disables it). */
export function serveHealth(
  port: number,
  sources: HealthSources,
  options: { hostname?: string; log?: Logger } = {},
): Deno.HttpServer | undefined {
  if (port === 0) return undefined;
  return Deno.serve({
    port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: ({ hostname, port }) =>
      options.log?.info("metrics endpoint listening", {
        url: `http://${hostname}:${port}/metrics`,
      }),
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/metrics") {
      return new Response(sources.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/readyz") {
      const ready = sources.ready ? await sources.ready() : true;
      return new Response(ready ? "ready\n" : "not ready\n", { status: ready ? 200 : 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
}
