/** The HTTP edge of both programs: `/metrics`, `/healthz` and `/readyz`. */
import type { Logger } from "./log.ts";
import type { MetricsRegistry } from "./metrics.ts";

/** Whether a program can do its work, and why not. */
export type ReadyState = { readonly ready: true } | {
  readonly ready: false;
  readonly reason: string;
};

/** What the health endpoint reports. */
export interface HealthSources {
  readonly metrics: MetricsRegistry;
  /** Ready to do its work (partitions assigned, database reachable, ...). */
  readonly ready?: () => ReadyState | Promise<ReadyState>;
}

/** Options of `serveHealth`. */
export interface HealthServerOptions {
  readonly hostname?: string;
  readonly log?: Logger;
  /** The setting that chooses the port, named when it is taken (e.g. `--metrics-port`). */
  readonly portSetting?: string;
}

/** The health server could not listen. */
export class HealthServerError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HealthServerError";
  }
}

/** Serves `/metrics`, `/healthz` and `/readyz` on `port` (0 disables it). */
export function serveHealth(
  port: number,
  sources: HealthSources,
  options: HealthServerOptions = {},
): Deno.HttpServer | undefined {
  if (port === 0) return undefined;
  try {
    return listen(port, sources, options);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    const setting = options.portSetting ?? "the metrics port setting";
    throw new HealthServerError(
      `Cannot serve /metrics, /healthz and /readyz: port ${port} is already in use (another ` +
        `copy of this program?); choose another with ${setting}, or 0 to turn the endpoint off`,
      { cause: error },
    );
  }
}

function listen(
  port: number,
  sources: HealthSources,
  options: HealthServerOptions,
): Deno.HttpServer {
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
      const state = sources.ready ? await sources.ready() : { ready: true as const };
      return state.ready
        ? new Response("ready\n")
        : new Response(`not ready: ${state.reason}\n`, { status: 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
}
