/**
 * The drain phases: the consumer CLI draining a topic that is already full
 * (the producer's live-like topic, or an hour-spread backlog such as a
 * consumer faces after an outage), timed until PostgreSQL's committed offsets
 * hold every event, and judged against kcat's raw read of the same topic in
 * the same run. Every drain ends with the exactly-once checks and the
 * per-flush profile from the consumer's metrics.
 */
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import type { MessageShape } from "./client_messages.ts";
import { checkConsistency } from "./consistency.ts";
import {
  committedOffsets,
  describeShortfall,
  startConsumer,
  waitCommitted,
} from "./consumer_process.ts";
import { flushProfile, flushProfileFigures } from "./flush_profile.ts";
import { measureRawRead, type RawReadResult } from "./kcat.ts";
import type { PhaseResult } from "./phase_runner.ts";
import { consumerMemoryFigure, PARTITIONS, type PhaseContext, TARGETS } from "./phase_context.ts";
import type { Figure } from "./report.ts";
import { runWorkerProcess } from "./worker_process.ts";

const DRAIN_TIMEOUT_MS = 600_000;
const PUBLISHER = new URL("./kafka_clients_worker.ts", import.meta.url);

/** What a drain measured besides its figures (the live phase's rate is half of `rate`). */
export interface DrainPhaseResult extends PhaseResult {
  /** Events per second from the consumer's start to all committed. */
  readonly rate: number;
}

/** Drains the producer phase's topic (live-like timestamps). */
export function drainPhase(
  context: PhaseContext,
  options: { topic: string; events: number },
): Promise<DrainPhaseResult> {
  return measureDrain(context, {
    phase: "drain",
    ...options,
    kcatShareTarget: TARGETS.drainShareOfKcat,
  });
}

/** The backlog's shape: its events, users, their skew, the minutes it spans, the message shape. */
export interface BacklogSpec {
  readonly topic: string;
  readonly events: number;
  readonly users: number;
  readonly userSkew: number;
  readonly minutes: number;
  readonly shape: MessageShape;
}

/**
 * Fills a fresh topic with an hour-spread backlog ending a minute ago (the
 * producer's simulator and its own Kafka sink, in a process of its own), then
 * drains it.
 */
export async function backlogPhase(
  context: PhaseContext,
  spec: BacklogSpec,
): Promise<DrainPhaseResult> {
  const phase = `backlog ${spec.shape}`;
  const kafka = createKafka({ brokers: context.brokers, clientId: "bench" });
  await ensureTopics(kafka, [{ topic: spec.topic, partitions: PARTITIONS }]);
  const spanMs = spec.minutes * 60_000;
  const startMs = Date.now() - spanMs - 60_000;
  context.log(
    `${phase}: publishing ${spec.events} events of ${spec.users} users (skew ${spec.userSkew}) ` +
      `over ${spec.minutes} min into ${spec.topic}`,
  );
  const started = performance.now();
  const outcome = await runWorkerProcess(PUBLISHER, [
    "--mode=produce",
    "--client=kafkajs-patched",
    `--brokers=${context.brokers.join(",")}`,
    `--topic=${spec.topic}`,
    `--count=${spec.events}`,
    `--users=${spec.users}`,
    `--seed=${context.seed}`,
    "--idempotent=true",
    "--max-in-flight=1",
    `--user-skew=${spec.userSkew}`,
    `--start-ms=${startMs}`,
    `--span-ms=${spanMs}`,
    `--shape=${spec.shape}`,
  ]);
  if (outcome.error !== undefined) {
    throw new Error(`publishing the backlog failed: ${outcome.error}`);
  }
  const sent = Number(outcome.result.sent);
  if (sent !== spec.events) {
    throw new Error(`the backlog publisher had ${sent} of ${spec.events} events acknowledged`);
  }
  const publishSeconds = (performance.now() - started) / 1000;
  const drained = await measureDrain(context, {
    phase,
    topic: spec.topic,
    events: spec.events,
    kcatShareTarget: TARGETS.backlogShareOfKcat,
    keysPerEventTarget: TARGETS.backlogKeysPerEvent,
  });
  const published: Figure = {
    phase,
    name: "backlog generated and published (before the consumer starts)",
    value: publishSeconds,
    unit: "s",
  };
  const { generationMs, publishMs, valueBytes } = outcome.result;
  return {
    ...drained,
    figures: [published, ...drained.figures],
    details: {
      ...drained.details,
      backlog: {
        ...spec,
        seed: context.seed,
        firstEventAt: new Date(startMs).toISOString(),
        spanMs,
        generationMs,
        publishMs,
        valueBytes,
      },
    },
  };
}

/** Drains the full `topic` with the consumer CLI into a fresh database; kcat reads it before and after. */
async function measureDrain(
  context: PhaseContext,
  options: {
    phase: string;
    topic: string;
    events: number;
    kcatShareTarget: number;
    keysPerEventTarget?: number;
  },
): Promise<DrainPhaseResult> {
  const { phase, topic, events } = options;
  const rawBefore = await rawRead(context, topic, events);
  await using database = await context.createDatabase(phase.replace(/\W+/g, "_"));
  const { sql } = database;
  context.log(`${phase}: consumer draining ${topic} (${events} events)`);
  const started = performance.now();
  await using consumer = startConsumer({
    brokers: context.brokers,
    topic,
    databaseUrl: database.url,
  });
  const progress = await waitCommitted(sql, {
    topic,
    events,
    timeoutMs: DRAIN_TIMEOUT_MS,
    consumer,
  });
  if (Number.isNaN(progress.doneAt)) {
    throw new Error(describeShortfall(consumer, progress, { events, timeoutMs: DRAIN_TIMEOUT_MS }));
  }
  const metrics = await consumer.scrapeMetrics();
  const peakBytes = consumer.peakMemoryBytes();
  const cpuMs = consumer.cpuMs();
  const exitCode = await consumer.stop("SIGTERM");
  const rawAfter = await rawRead(context, topic, events);
  const committed = await committedOffsets(sql, topic);
  const seconds = (progress.doneAt - started) / 1000;
  const rate = committed / seconds;
  const kcat = Math.max(rawBefore.eventsPerSecond, rawAfter.eventsPerSecond);
  const [{ keys }] = await sql<{ keys: string }[]>`
    SELECT count(*)::text AS keys FROM user_event_summary`;
  const profile = flushProfile(metrics, { drainSeconds: seconds });
  const figures: Figure[] = [
    { phase, name: "events committed", value: committed, unit: "events" },
    { phase, name: "rate, consumer start to all committed", value: rate, unit: "events/s" },
    {
      phase,
      name: "rate, first to last commit",
      // What was committed after the first commit, over the time it took: the events of the
      // first commit were read before the clock started. Not a number when the first poll that
      // saw a commit already saw all of them.
      value: (committed - progress.committedAtFirst) /
        ((progress.doneAt - progress.firstCommitAt) / 1000 || NaN),
      unit: "events/s",
    },
    { phase, name: "kcat raw read of the same topic (faster of 2)", value: kcat, unit: "events/s" },
    {
      phase,
      name: "drain rate as a share of kcat's",
      value: (100 * rate) / kcat,
      unit: "%",
      target: { kind: "min", value: options.kcatShareTarget },
    },
    consumerMemoryFigure(phase, peakBytes),
    { phase, name: "consumer CPU per event", value: (1000 * cpuMs) / committed, unit: "µs" },
    {
      phase,
      name: "distinct (user, minute, type) keys per event",
      value: Number(keys) / committed,
      unit: "keys",
      ...(options.keysPerEventTarget === undefined
        ? {}
        : { target: { kind: "min" as const, value: options.keysPerEventTarget } }),
    },
    ...flushProfileFigures(phase, profile),
    ...await checkConsistency(sql, { phase, topic }),
  ];
  return {
    rate,
    figures,
    details: {
      topic,
      kcat: { before: rawBefore, after: rawAfter },
      consumer: { exitCode, cpuMs, peakBytes, seconds },
      flushProfile: profile,
    },
  };
}

async function rawRead(context: PhaseContext, topic: string, events: number) {
  const raw: RawReadResult = await measureRawRead(context.brokers, topic);
  if (raw.messages !== events) {
    throw new Error(`kcat read ${raw.messages} messages of ${topic}, which holds ${events}`);
  }
  context.log(`kcat: ${Math.round(raw.eventsPerSecond)} events/s raw read of ${topic}`);
  return raw;
}
