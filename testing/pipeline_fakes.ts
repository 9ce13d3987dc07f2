/**
 * In-memory stand-ins for the consumer pipeline's two edges, and a virtual clock: the shell's own
 * logic is what `consumer/pipeline_test.ts` puts under test (the real broker and database are in
 * e2e/).
 */
import { createLogger, encode, MetricsRegistry, readConfig } from "@activity/shared";
import { VirtualClock } from "./virtual_clock.ts";
import { consumerProgram } from "../consumer/config.ts";
import type { FlushPlan } from "../consumer/flush_plan.ts";
import type { IncomingBatch, KafkaSource, TopicLogs } from "../consumer/batch_source.ts";
import { type ConsumerMetrics, registerConsumerMetrics } from "../consumer/metrics.ts";
import type { StoredOffset } from "../consumer/partition_placement.ts";
import { createPipeline, type Pipeline, type PipelineSummary } from "../consumer/pipeline.ts";
import type { CommitOutcome, FlushTimings, RowsWritten, Store } from "../consumer/store.ts";

/** The topic id the fake brokers report. */
export const TOPIC_ID = "6a4f0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b";

function config(flags: Record<string, number>) {
  const args = Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
  const outcome = readConfig(consumerProgram, { args: [...args, "--topic", "t"], env: {} });
  if (outcome.kind !== "config") throw new Error("bad config");
  return outcome.config;
}

const NO_ROWS = {
  user_event_summary: 0,
  user_event_hourly: 0,
  user_event_daily: 0,
  event_type_minute: 0,
  active_users_minute: 0,
  rejected_events: 0,
} as RowsWritten;

/** A store that records plans and commits (or fails) as told. */
function fakeStore(stored: Map<number, StoredOffset>) {
  const plans: FlushPlan[] = [];
  const outcomes: (CommitOutcome["kind"] | "error")[] = [];
  let always: "error" | undefined;
  const store: Store = {
    sql: undefined as never,
    readStoredOffsets: () => Promise.resolve(new Map(stored)),
    commitFlush(plan) {
      plans.push(plan);
      const outcome = outcomes.shift() ?? always ?? "committed";
      if (outcome === "error") {
        return Promise.reject(
          Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" }),
        );
      }
      if (outcome === "fenced") {
        return Promise.resolve({ kind: "fenced", partitions: [plan.ranges[0].partition] });
      }
      if (outcome === "not_owner") return Promise.resolve({ kind: "not_owner", owner: "other" });
      for (const range of plan.ranges) {
        stored.set(range.partition, { next: BigInt(range.next), topicId: plan.topicId });
      }
      return Promise.resolve({
        kind: "committed",
        rows: NO_ROWS,
        timings: { statement: 0 } as FlushTimings,
      });
    },
    ping: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
  return {
    store,
    plans,
    next(...kinds: (CommitOutcome["kind"] | "error")[]) {
      outcomes.push(...kinds);
    },
    failAlways() {
      always = "error";
    },
  };
}

/** A Kafka source over fixed logs that records seeks. */
function fakeSource(logs: { topicId: string; ends: Map<number, [bigint, bigint]> }) {
  const seeks: [number, string][] = [];
  const calls = { describeTopic: 0, topicId: 0 };
  let gate: Promise<void> | undefined;
  const source: KafkaSource = {
    seek: (partition, offset) => seeks.push([partition, offset]),
    async describeTopic(): Promise<TopicLogs> {
      calls.describeTopic++;
      const held = gate;
      gate = undefined;
      await held;
      return {
        topicId: logs.topicId,
        partitions: new Map(
          [...logs.ends].map(([p, [logStart, highWatermark]]) => [p, { logStart, highWatermark }]),
        ),
      };
    },
    topicId() {
      calls.topicId++;
      return Promise.resolve(logs.topicId);
    },
    publishDeadLetters: (rejections) => Promise.resolve(rejections.map(() => "sent" as const)),
    commitGroupOffsets: () => {},
    pause: () => {},
    close: () => Promise.resolve(),
  };
  return {
    source,
    seeks,
    calls,
    logs,
    /** Makes the next reading of the topic's offsets wait (slow brokers) until it is released. */
    hold(): () => void {
      let release = () => {};
      gate = new Promise((resolve) => release = resolve);
      return release;
    },
  };
}

/** A batch of `count` canonical events of `partition` from offset `from`. */
export function batch(
  clock: VirtualClock,
  partition: number,
  range: { from: number; count: number; value?: Uint8Array },
): IncomingBatch & { resolved: string[] } {
  const resolved: string[] = [];
  const messages = Array.from({ length: range.count }, (_, i) => ({
    offset: String(range.from + i),
    timestamp: String(clock.now()),
    key: null,
    value: range.value ?? encode({
      version: 1,
      event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
      user_id: `u${i % 3}`,
      session_id: "s",
      event_type: "click",
      occurred_at: new Date(clock.now()).toISOString(),
      page: "/",
    }),
  }));
  return {
    topic: "t",
    partition,
    messages,
    highWatermark: String(range.from + range.count),
    heartbeat: () => Promise.resolve(),
    isRunning: () => true,
    isStale: () => false,
    resolveOffset: (offset) => resolved.push(offset),
    resolved,
  };
}

const quiet = createLogger({ level: "error", format: "json", name: "test", write: () => {} });

/** A running pipeline on the fakes, with the fakes' handles. */
export type PipelineSetup = ReturnType<typeof fakeStore> & ReturnType<typeof fakeSource> & {
  readonly pipeline: Pipeline;
  readonly running: Promise<PipelineSummary>;
  readonly metrics: ConsumerMetrics;
  readonly clock: VirtualClock;
};

/** A pipeline on the fakes, running, with partitions 0 and 1 (or `ends`'s) assigned. */
export function setupPipeline(
  flags: Record<string, number>,
  options: { stored?: Map<number, StoredOffset>; ends?: Map<number, [bigint, bigint]> } = {},
): PipelineSetup {
  const clock = new VirtualClock();
  const fake = fakeStore(options.stored ?? new Map());
  const metrics = registerConsumerMetrics(new MetricsRegistry());
  const pipeline = createPipeline(config(flags), {
    store: fake.store,
    metrics,
    log: quiet,
    clock,
    random: () => 0.5,
  });
  const kafka = fakeSource({
    topicId: TOPIC_ID,
    ends: options.ends ?? new Map([[0, [0n, 1_000n]], [1, [0n, 1_000n]]]),
  });
  const running = pipeline.run(kafka.source);
  pipeline.handlers.onAssignment([...(options.ends ?? new Map([[0, 0], [1, 0]])).keys()]);
  return { ...fake, ...kafka, pipeline, running, metrics, clock };
}
