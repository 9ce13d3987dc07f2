/**
 * One measurement of the Kafka client comparison, in a process of its own
 * (started by `kafka_clients.ts`): either publishing the generated messages
 * through the producer's own `publish` loop with one client's sink, or
 * reading a topic to its end with one client's reader. Each client runs in a
 * fresh process because the producer's KafkaJS speedups patch KafkaJS for the
 * whole process once loaded; so clients are loaded with dynamic imports, and
 * the unpatched run never loads the producer's sink. Prints one line
 * `RESULT <json>` on stdout. `deno task bench` publishes its backlog with it
 * too (the producer's own sink; its own clock, skew and message shape).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { processLogger } from "@activity/shared/runtime";
import { publish, type PublishPlan } from "../producer/publisher.ts";
import {
  generateMessages,
  MESSAGE_SHAPES,
  messagesDigest,
  type MessageSpec,
  replaySimulation,
} from "./client_messages.ts";
import {
  CLIENT_NAMES,
  type ClientName,
  type ClientSink,
  DRAIN_CLIENT_NAMES,
  type DrainClientName,
  type DrainOptions,
  type SinkOptions,
} from "./client_contract.ts";
import type { DrainResult } from "./drain_tracker.ts";
import { printWorkerResult } from "./worker_process.ts";

/** Batch bounds of the producer (`BATCH` in `producer/run.ts`, not exported): ≤ 2000 messages, < 1 MB. */
const BATCH = { maxMessages: 2000, maxBytes: 1_000_000, lingerMs: 50 } as const;
/** The producer sink's retry count (`SEND_RETRIES` in `producer/kafka_sink.ts`). */
const SEND_RETRIES = 8;
/** Partitions the producer's sink creates a missing topic with (the topic exists already). */
const PARTITIONS = 6;
/** The consumer's own fetch sizes (`consumer/kafka_source.ts`), for every reader. */
const FETCH = { maxBytesPerPartition: 1024 * 1024, maxBytes: 6 * 1024 * 1024, maxWaitMs: 200 };

async function openSink(client: ClientName, options: SinkOptions): Promise<ClientSink> {
  switch (client) {
    case "kafkajs":
      return (await import("./kafkajs_plain_client.ts")).openPlainKafkaJsSink(options);
    case "platformatic":
      return (await import("./platformatic_client.ts")).openPlatformaticSink(options);
    case "kafkajs-patched": {
      // The producer's own sink, unchanged: it picks its requests in flight from idempotence.
      const { describeSpeedups, openKafkaSink } = await import("../producer/kafka_sink.ts");
      const sink = await openKafkaSink({
        brokers: options.brokers,
        topic: options.topic,
        partitions: PARTITIONS,
        idempotent: options.idempotent,
        log: processLogger("bench-worker", "warn"),
      });
      return {
        maxInFlight: sink.maxInFlight,
        details: {
          library: "kafkajs@2.2.4",
          speedups: describeSpeedups(sink.speedups),
        },
        send: (batch) => sink.send(batch),
        close: () => sink.close(),
        [Symbol.asyncDispose]: () => sink.close(),
      };
    }
  }
}

type Reader = (options: DrainOptions) => Promise<DrainResult>;

async function loadReader(client: DrainClientName): Promise<Reader> {
  switch (client) {
    case "kafkajs":
      return (await import("./kafkajs_plain_client.ts")).drainWithKafkaJs;
    case "platformatic":
      return (await import("./platformatic_client.ts")).drainWithPlatformatic;
  }
}

function peakRssMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

function cpuMs(usage: ReturnType<typeof process.cpuUsage>): number {
  return (usage.user + usage.system) / 1000;
}

async function measureProduce(
  client: ClientName,
  spec: MessageSpec,
  sinkOptions: SinkOptions,
): Promise<Record<string, unknown>> {
  const generatingAt = performance.now();
  const messages = generateMessages(spec);
  const generationMs = performance.now() - generatingAt;
  const digest = await messagesDigest(messages);
  const connectingAt = performance.now();
  await using sink = await openSink(client, sinkOptions);
  const connectMs = performance.now() - connectingAt;
  const plan: PublishPlan = {
    count: spec.count,
    durationMs: 0,
    pacing: "max",
    clock: { startMs: 0, speed: 1 },
    batch: BATCH,
    maxInFlight: sink.maxInFlight,
    typeCount: messages.types.length,
  };
  const cpuBefore = process.cpuUsage();
  const result = await publish(replaySimulation(messages), sink, plan);
  const cpu = cpuMs(process.cpuUsage(cpuBefore));
  return {
    mode: "produce",
    client,
    details: sink.details,
    maxInFlight: sink.maxInFlight,
    digest,
    valueBytes: messages.values.length,
    sent: result.stats.sent,
    failed: result.stats.failed,
    stoppedBy: result.stoppedBy,
    ...(result.error === undefined ? {} : { error: String(result.error) }),
    publishMs: result.durationMs,
    cpuMs: cpu,
    generationMs,
    connectMs,
    peakRssMiB: peakRssMiB(),
  };
}

async function measureDrain(
  client: DrainClientName,
  options: DrainOptions,
): Promise<Record<string, unknown>> {
  // Loaded before the CPU clock starts: module loading is not reading.
  const read = await loadReader(client);
  const cpuBefore = process.cpuUsage();
  const result = await read(options);
  return {
    mode: "drain",
    client,
    ...result,
    cpuMs: cpuMs(process.cpuUsage(cpuBefore)),
    peakRssMiB: peakRssMiB(),
  };
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
): T {
  if (allowed.includes(value as T)) return value as T;
  throw new TypeError(
    `"--${flag}" must be one of ${allowed.join(", ")}: current value is "${value}"`,
  );
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      mode: { type: "string" },
      client: { type: "string" },
      brokers: { type: "string" },
      topic: { type: "string" },
      count: { type: "string" },
      users: { type: "string" },
      seed: { type: "string" },
      idempotent: { type: "string" },
      "max-in-flight": { type: "string" },
      group: { type: "string" },
      ends: { type: "string" },
      "stall-ms": { type: "string" },
      // Optional, for the benchmark's backlog: skew, timestamps spread from a start, shape.
      "user-skew": { type: "string" },
      "start-ms": { type: "string" },
      "span-ms": { type: "string" },
      shape: { type: "string" },
    },
  });
  const mode = oneOf(values.mode, ["produce", "drain"] as const, "mode");
  const brokers = (values.brokers ?? "").split(",");
  const topic = values.topic ?? "";
  let result: Record<string, unknown>;
  if (mode === "produce") {
    result = await measureProduce(
      oneOf(values.client, CLIENT_NAMES, "client"),
      {
        count: Number(values.count),
        users: Number(values.users),
        seed: Number(values.seed),
        ...(values["user-skew"] ? { userSkew: Number(values["user-skew"]) } : {}),
        ...(values["start-ms"]
          ? { clock: { startMs: Number(values["start-ms"]), spanMs: Number(values["span-ms"]) } }
          : {}),
        shape: oneOf(values.shape ?? "canonical", MESSAGE_SHAPES, "shape"),
      },
      {
        brokers,
        topic,
        idempotent: values.idempotent === "true",
        maxInFlight: Number(values["max-in-flight"]),
        retries: SEND_RETRIES,
      },
    );
  } else {
    const ends = JSON.parse(values.ends ?? "{}") as Record<string, string>;
    result = await measureDrain(oneOf(values.client, DRAIN_CLIENT_NAMES, "client"), {
      brokers,
      topic,
      groupId: values.group ?? "",
      ends: new Map(
        Object.entries(ends).map(([partition, end]) => [Number(partition), BigInt(end)]),
      ),
      fetch: FETCH,
      stallMs: Number(values["stall-ms"]),
    });
  }
  printWorkerResult(result);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    // Clients may leave sockets or timers behind after closing; the figure is printed.
    Deno.exit(0);
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    Deno.exit(1);
  }
}
