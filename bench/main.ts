/**
 * `deno task bench`: producer, drain, raw read (kcat), live latency and
 * dashboard queries measured side by side in one run, against running local
 * services (`deno task services`). Prints a table and writes a JSON report.
 */
import postgres from "postgres";
import { loadConfigOrExit } from "@activity/shared/runtime";
import { migrate } from "@activity/consumer";
import { fillSyntheticData, measureQueryCosts } from "@activity/grafana";
import { databaseUrlWithName } from "../testing/services.ts";
import { KAFKA_VERSION } from "../tools/kafka_local.ts";
import { readMachineFacts } from "./machine.ts";
import { drainPhase, kcatPhase, livePhase, type PhaseContext, producerPhase } from "./phases.ts";
import { type Figure, renderTable } from "./report.ts";
import { type BenchConfig, benchProgram } from "./settings.ts";
import { dropDatabasesAndEnd, writeJsonReport } from "./report_file.ts";

const silentLog = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false };

async function main(config: BenchConfig): Promise<number> {
  const stamp = new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15).toLowerCase();
  const created: string[] = [];
  const admin = postgres(config.databaseUrl, { max: 1, onnotice: () => {} });
  const log = (message: string) =>
    console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const context: PhaseContext = {
    brokers: config.brokers,
    users: config.users,
    seed: config.seed,
    log,
    async createDatabase(label) {
      const name = `bench_${stamp}_${label}_${created.length}`;
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      created.push(name);
      return databaseUrlWithName(config.databaseUrl, name);
    },
  };
  const figures: Figure[] = [];
  const extra: Record<string, unknown> = {};
  const topic = `bench_${stamp}`;
  const run = (phase: string) => config.phases.includes(phase as never);
  try {
    const [{ version }] = await admin<{ version: string }[]>`SELECT version()`;
    const machine = await readMachineFacts({
      postgresVersion: version,
      kafkaVersion: KAFKA_VERSION,
    });
    log(
      `machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpu}; Deno ${machine.deno}`,
    );
    if (run("producer")) {
      figures.push(...await producerPhase(context, { topic, events: config.events }));
    }
    let drainRate: number | undefined;
    if (run("drain")) {
      const drained = await drainPhase(context, { topic, events: config.events });
      drainRate = drained.find((figure) => figure.name.startsWith("rate, consumer start"))?.value;
      figures.push(...drained);
    }
    if (run("kcat")) figures.push(...await kcatPhase(context, { topic, drainRate }));
    if (run("live")) {
      for (const rate of config.liveRates) {
        figures.push(
          ...await livePhase(context, {
            topic: `${topic}_live${rate}`,
            rate,
            seconds: config.liveSeconds,
          }),
        );
      }
    }
    if (run("dashboard")) {
      const url = await context.createDatabase("dashboard");
      await migrate(url, { log: silentLog });
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        log(
          `dashboard: synthetic data for ${config.dashboardUsers} users over ${config.dashboardDays} days`,
        );
        const filled = await fillSyntheticData(sql, {
          users: config.dashboardUsers,
          days: config.dashboardDays,
        });
        log(`dashboard: filled in ${(filled.elapsedMs / 1000).toFixed(1)} s; timing every query`);
        const costs = await measureQueryCosts(sql);
        for (const cost of costs) {
          figures.push({
            phase: "dashboard",
            name: `${cost.key} [${cost.range}] ${cost.title}`.slice(0, 70),
            value: cost.medianMs,
            unit: "ms",
            target: { kind: "max", value: 100 },
          });
        }
        extra.dashboard = { rows: filled.rows, queries: costs };
      } finally {
        await sql.end();
      }
    }
    const report = { machine, settings: { ...config, databaseUrl: undefined }, figures, ...extra };
    console.log(renderTable(figures));
    const path = await writeJsonReport(config.out, `bench-${stamp}.json`, report);
    log(`report written to ${path}`);
    return 0;
  } finally {
    await dropDatabasesAndEnd(admin, created);
  }
}

if (import.meta.main) Deno.exit(await main(loadConfigOrExit(benchProgram)));
