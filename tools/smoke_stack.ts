/**
 * `deno task smoke:stack`: checks a running stack from outside, the way a
 * person would look at it: the producer's and the consumer's `/healthz`,
 * events counted in PostgreSQL and rising, Grafana's `/api/health`, the
 * provisioned datasource's health, and every dashboard panel's query through
 * Grafana's `/api/ds/query` returning rows for the dashboard's default range.
 * Prints one line per check and `N passed, N failed`; exits 1 when a check
 * fails. With `--grafana optional`, an unreachable Grafana is said clearly
 * and its checks are skipped (where no Grafana can run).
 */
import { readFlags } from "./cli_flags.ts";
import postgres from "postgres";
import { REPO_ROOT } from "./compile.ts";
import { LOCAL_DATABASE_URL } from "./services.ts";

/** One check's outcome. */
export interface CheckResult {
  readonly name: string;
  readonly outcome: "pass" | "fail" | "skipped";
  readonly detail: string;
}

/** Where the stack's parts are. */
export interface StackAddresses {
  readonly producerUrl: string;
  readonly consumerUrl: string;
  readonly databaseUrl: string;
  readonly grafanaUrl: string;
  readonly grafanaUser: string;
  readonly grafanaPassword: string;
  /** How long events may take to rise. */
  readonly riseMs: number;
}

interface DashboardPanel {
  id: number;
  title: string;
  timeFrom?: string;
  targets?: { refId: string; datasource: { uid: string; type: string }; rawSql: string }[];
}

async function httpCheck(name: string, url: string, init?: RequestInit): Promise<CheckResult> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    const body = await response.text();
    return response.ok
      ? { name, outcome: "pass", detail: `${url} answered ${response.status}` }
      : { name, outcome: "fail", detail: `${url} answered ${response.status}: ${body.trim()}` };
  } catch (error) {
    return { name, outcome: "fail", detail: `${url} did not answer: ${(error as Error).message}` };
  }
}

/** Events counted in PostgreSQL (ingest_minute), twice, until the second count is larger. */
async function eventsRising(databaseUrl: string, riseMs: number): Promise<CheckResult> {
  const name = "events counted in PostgreSQL and rising";
  const sql = postgres(databaseUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  const counted = async () =>
    Number(
      (await sql`SELECT coalesce(sum(events_accepted), 0)::bigint AS n FROM ingest_minute`)[0]
        .n,
    );
  try {
    const first = await counted();
    const deadline = performance.now() + riseMs;
    let last = first;
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      last = await counted();
      if (last > first) {
        return { name, outcome: "pass", detail: `${first} → ${last} events counted` };
      }
    }
    return {
      name,
      outcome: "fail",
      detail: `${first} → ${last} events counted within ${riseMs / 1000} s`,
    };
  } catch (error) {
    return {
      name,
      outcome: "fail",
      detail: `cannot read ingest_minute: ${(error as Error).message}`,
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The rows of every frame Grafana returned for one query, or why there are none. */
export function frameRows(result: unknown): { rows: number } | { error: string } {
  const answer = result as {
    status?: number;
    error?: string;
    frames?: { data?: { values?: unknown[][] } }[];
  } | undefined;
  if (!answer) return { error: "no result for this refId" };
  if (answer.error) return { error: answer.error };
  if (answer.status !== undefined && answer.status !== 200) {
    return { error: `status ${answer.status}` };
  }
  const rows = (answer.frames ?? [])
    .reduce((sum, frame) => sum + (frame.data?.values?.[0]?.length ?? 0), 0);
  return { rows };
}

async function grafanaChecks(stack: StackAddresses): Promise<CheckResult[]> {
  const committed = JSON.parse(
    await Deno.readTextFile(`${REPO_ROOT}/grafana/dashboards/activity_pipeline.json`),
  ) as { uid: string; panels: DashboardPanel[] };
  const datasourceUid = committed.panels.flatMap((panel) => panel.targets ?? [])[0].datasource.uid;
  const auth = { Authorization: `Basic ${btoa(`${stack.grafanaUser}:${stack.grafanaPassword}`)}` };
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.grafanaUrl}${path}`, {
      ...init,
      headers: { ...auth, "content-type": "application/json", ...init.headers },
      signal: AbortSignal.timeout(20_000),
    });
  const results: CheckResult[] = [];
  const datasource = await api(`/api/datasources/uid/${datasourceUid}/health`);
  const health = await datasource.json().catch(() => ({}));
  results.push({
    name: `datasource ${datasourceUid} healthy`,
    outcome: datasource.ok && health.status === "OK" ? "pass" : "fail",
    detail: `HTTP ${datasource.status}: ${health.message ?? JSON.stringify(health)}`,
  });
  const dashboardResponse = await api(`/api/dashboards/uid/${committed.uid}`);
  if (!dashboardResponse.ok) {
    results.push({
      name: `dashboard ${committed.uid} provisioned`,
      outcome: "fail",
      detail: `HTTP ${dashboardResponse.status}`,
    });
    return results;
  }
  const { dashboard } = await dashboardResponse.json() as {
    dashboard: { panels: DashboardPanel[]; time: { from: string; to: string } };
  };
  for (const panel of dashboard.panels) {
    if (!panel.targets?.length) continue;
    const response = await api("/api/ds/query", {
      method: "POST",
      body: JSON.stringify({
        from: panel.timeFrom ? `now-${panel.timeFrom}` : dashboard.time.from,
        to: dashboard.time.to,
        queries: panel.targets.map((target) => ({
          ...target,
          intervalMs: 60_000,
          maxDataPoints: 1_000,
        })),
      }),
    });
    const body = await response.json().catch(() => ({})) as { results?: Record<string, unknown> };
    const outcomes = panel.targets.map((target) => ({
      refId: target.refId,
      ...frameRows(body.results?.[target.refId]),
    }));
    const failed = outcomes.filter((outcome) => "error" in outcome || outcome.rows === 0);
    results.push({
      name: `panel ${panel.id} "${panel.title}" has data`,
      outcome: response.ok && failed.length === 0 ? "pass" : "fail",
      detail: `HTTP ${response.status}; ` +
        outcomes.map((outcome) =>
          "error" in outcome
            ? `${outcome.refId}: ${outcome.error}`
            : `${outcome.refId}: ${outcome.rows} rows`
        ).join(", "),
    });
  }
  return results;
}

/** Runs every check; Grafana's are skipped with a clear reason when it is optional and absent. */
export async function checkStack(
  stack: StackAddresses,
  options: { grafanaOptional: boolean },
): Promise<CheckResult[]> {
  const results = [
    await httpCheck("producer /healthz", `${stack.producerUrl}/healthz`),
    await httpCheck("consumer /healthz", `${stack.consumerUrl}/healthz`),
    await eventsRising(stack.databaseUrl, stack.riseMs),
  ];
  const grafana = await httpCheck("Grafana /api/health", `${stack.grafanaUrl}/api/health`);
  if (
    grafana.outcome === "fail" && options.grafanaOptional && / did not answer/.test(grafana.detail)
  ) {
    results.push({
      name: "Grafana",
      outcome: "skipped",
      detail: `NOT REACHABLE (${grafana.detail}): the datasource and panel checks did not run`,
    });
    return results;
  }
  results.push(grafana);
  if (grafana.outcome === "pass") results.push(...await grafanaChecks(stack));
  return results;
}

async function main(args: string[]): Promise<number> {
  const env = Deno.env.toObject();
  const values = readFlags(args, {
    "producer-url": {
      type: "string",
      default: env.SMOKE_PRODUCER_URL ?? "http://127.0.0.1:9464",
    },
    "consumer-url": {
      type: "string",
      default: env.SMOKE_CONSUMER_URL ?? "http://127.0.0.1:9465",
    },
    "database-url": { type: "string", default: env.DATABASE_URL ?? LOCAL_DATABASE_URL },
    "grafana-url": {
      type: "string",
      default: env.SMOKE_GRAFANA_URL ?? "http://127.0.0.1:3000",
    },
    "grafana-user": { type: "string", default: "admin" },
    grafana: { type: "string", default: "required" },
    "rise-seconds": { type: "string", default: "30" },
    help: { type: "boolean", short: "h" },
  });
  if (!values) return 2;
  if (values.help) {
    console.log(
      "Usage: deno task smoke:stack [--producer-url U] [--consumer-url U] [--database-url U]\n" +
        "       [--grafana-url U] [--grafana-user admin] [--grafana required|optional]\n" +
        "       [--rise-seconds 30]   (Grafana's password: GRAFANA_ADMIN_PASSWORD, default admin)",
    );
    return 0;
  }
  if (values.grafana !== "required" && values.grafana !== "optional") {
    console.error(
      `Cannot read arguments: "--grafana" must be "required" or "optional": ` +
        `current value is "${values.grafana}"`,
    );
    return 2;
  }
  const results = await checkStack({
    producerUrl: values["producer-url"]!,
    consumerUrl: values["consumer-url"]!,
    databaseUrl: values["database-url"]!,
    grafanaUrl: values["grafana-url"]!,
    grafanaUser: values["grafana-user"]!,
    grafanaPassword: env.GRAFANA_ADMIN_PASSWORD || "admin",
    riseMs: Number(values["rise-seconds"]) * 1000,
  }, { grafanaOptional: values.grafana === "optional" });
  const label = { pass: "PASS", fail: "FAIL", skipped: "NOT CHECKED" } as const;
  for (const result of results) {
    console.log(`${label[result.outcome].padEnd(11)} ${result.name}: ${result.detail}`);
  }
  const failed = results.filter((result) => result.outcome === "fail").length;
  const passed = results.filter((result) => result.outcome === "pass").length;
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
