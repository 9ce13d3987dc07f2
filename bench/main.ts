/**
 * `deno task bench`: producer, drains (the producer's topic and hour-spread
 * backlogs, each against kcat's raw read of the same topic), live latency and
 * dashboard queries measured side by side in one run, against running local
 * services (`deno task services`). Each phase prints its rows and is written
 * to the JSON report as soon as it ends, with the machine's load around it.
 */
import postgres from "postgres";
import { createKafka } from "@activity/shared/kafka";
import { EXIT_USAGE, loadConfigOrExit } from "@activity/shared/runtime";
import { createDatabaseNamed } from "../testing/services.ts";
import { KAFKA_VERSION } from "../tools/kafka_local.ts";
import { backlogPhase, drainPhase } from "./drain_phases.ts";
import { readMachineFacts } from "./machine.ts";
import type { PhaseContext } from "./phase_context.ts";
import { machineLoadProbe, type PhaseRunnerOptions, runPhase } from "./phase_runner.ts";
import { dashboardPhase, livePhase, producerPhase } from "./phases.ts";
import { killRunningPrograms } from "./program_process.ts";
import { describePhase, renderTable, targetSummary } from "./report.ts";
import { ReportFile } from "./report_file.ts";
import { deleteTopics } from "./topics.ts";
import { type BenchConfig, benchProgram, HALF_DRAIN, phasePlanProblem } from "./settings.ts";

async function main(config: BenchConfig): Promise<number> {
  const problem = phasePlanProblem(config);
  if (problem) {
    console.error(problem);
    return EXIT_USAGE;
  }
  const began = performance.now();
  const stamp = new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15).toLowerCase();
  const admin = postgres(config.databaseUrl, { max: 1, onnotice: () => {} });
  const log = (message: string) =>
    console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const open = new Set<string>();
  const drop = async (name: string) => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    open.delete(name);
  };
  let databases = 0;
  const context: PhaseContext = {
    brokers: config.brokers,
    users: config.users,
    seed: config.seed,
    log,
    async createDatabase(label) {
      const name = `bench_${stamp}_${label}_${databases++}`;
      open.add(name);
      const database = await createDatabaseNamed(config.databaseUrl, name);
      return {
        url: database.url,
        sql: database.sql,
        async [Symbol.asyncDispose]() {
          await database[Symbol.asyncDispose]();
          open.delete(name);
        },
      };
    },
  };
  const [{ version }] = await admin<{ version: string }[]>`SELECT version()`;
  const machine = await readMachineFacts({ postgresVersion: version, kafkaVersion: KAFKA_VERSION });
  log(
    `machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpu}; Deno ${machine.deno}`,
  );
  await Deno.mkdir(config.out, { recursive: true });
  const report = new ReportFile(`${config.out}/bench-${stamp}.json`, {
    machine,
    settings: { ...config, databaseUrl: undefined },
    startedAt: new Date().toISOString(),
  });
  await report.start();
  log(`report: ${report.path} (rewritten after every phase)`);

  const topic = `bench_${stamp}`;
  const cleanUp = async () => {
    await Promise.allSettled([...open].map(drop));
    if (config.keepTopics) return;
    const kafka = createKafka({ brokers: config.brokers, clientId: "bench" });
    await deleteTopics(kafka, (name) => name.startsWith(topic), log);
  };
  let current = "";
  const interrupt = (signal: Deno.Signal) => {
    log(`${signal}: stopping in phase ${current || "(none)"}; the report keeps the phases done`);
    killRunningPrograms();
    report.finish("interrupted", { phase: current })
      .then(cleanUp)
      .finally(() => Deno.exit(signal === "SIGINT" ? 130 : 143));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const listeners = signals.map((signal) => [signal, () => interrupt(signal)] as const);
  for (const [signal, listener] of listeners) Deno.addSignalListener(signal, listener);

  const runner: PhaseRunnerOptions = {
    report,
    probe: machineLoadProbe(),
    print: (text) => console.log(`${text}\n`),
    onPhaseStart: (phase) => current = phase,
  };
  const chosen = new Set(config.phases);
  const events = config.events;
  try {
    if (chosen.has("producer")) {
      await runPhase(
        { phase: "producer", run: () => producerPhase(context, { topic, events }) },
        runner,
      );
    }
    let drainRate: number | undefined;
    if (chosen.has("drain")) {
      await runPhase({
        phase: "drain",
        run: async () => {
          const drained = await drainPhase(context, { topic, events });
          drainRate = drained.rate;
          return drained;
        },
      }, runner);
    }
    if (chosen.has("backlog")) {
      for (const shape of config.backlogShapes) {
        await runPhase({
          phase: `backlog ${shape}`,
          run: () =>
            backlogPhase(context, {
              topic: `${topic}_backlog_${shape}`,
              events,
              users: config.users,
              userSkew: config.backlogSkew,
              minutes: config.backlogMinutes,
              shape,
            }),
        }, runner);
      }
    }
    if (chosen.has("live")) {
      for (const wanted of config.liveRates) {
        const rate = wanted === HALF_DRAIN
          ? drainRate && Math.max(1, Math.round(drainRate / 2))
          : wanted;
        const label = `live ${rate ? `${Math.round(rate / 100) / 10}k/s` : "?"}${
          wanted === HALF_DRAIN ? " (half the drain)" : ""
        }`;
        await runPhase({
          phase: label,
          run: () => {
            if (!rate) throw new Error("no drain rate to halve: the drain phase failed");
            const seconds = config.liveSeconds;
            return livePhase(context, {
              phase: label,
              topic: `${topic}_live${rate}`,
              rate,
              seconds,
            });
          },
        }, runner);
      }
    }
    if (chosen.has("dashboard")) {
      await runPhase({
        phase: "dashboard",
        run: () =>
          dashboardPhase(context, { users: config.dashboardUsers, days: config.dashboardDays }),
      }, runner);
    }
    current = "";
    const phases = report.phases;
    const failed = phases.filter((record) => record.error !== undefined);
    const notes = new Map(phases.map((record) => [record.phase, describePhase(record)]));
    console.log(renderTable(phases.flatMap((record) => record.figures), notes));
    for (const record of failed) console.log(`# ${describePhase(record)}`);
    console.log(`\n${targetSummary(phases.flatMap((record) => record.figures))}`);
    if (failed.length > 0) {
      console.log(`phases failed: ${failed.map((record) => record.phase).join(", ")}`);
    }
    console.log(`run took ${((performance.now() - began) / 1000).toFixed(0)} s`);
    await report.finish(failed.length > 0 ? "failed" : "complete");
    log(`report written to ${report.path}`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    await cleanUp();
    await admin.end();
  }
}

if (import.meta.main) Deno.exit(await main(loadConfigOrExit(benchProgram)));
