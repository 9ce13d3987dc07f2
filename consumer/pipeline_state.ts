/**
 * The consumer pipeline's shared state, and the steps every part of its shell
 * takes on it: stopping, failing, throwing away what is buffered, and the lag
 * and buffer metrics. `pipeline.ts` (batches and flushes), `log_watch.ts`
 * (where partitions are read from) and `flush_commit.ts` (committing) share it.
 */
import { type Clock, type Logger, systemClock } from "@activity/shared";
import { type BatchAggregate, emptyAggregate } from "./aggregate.ts";
import type { ConsumerConfig } from "./config.ts";
import type { KafkaSource } from "./batch_source.ts";
import { createKafkaWatch, type KafkaWatch, kafkaWatchSettings } from "./kafka_watch.ts";
import type { ConsumerMetrics } from "./metrics.ts";
import { committedLag, createOffsetFence, type OffsetFence, resetFence } from "./offset_fence.ts";
import {
  beginStop,
  type ConsumerCore,
  CORE_DEFAULTS,
  createCore,
  discardBuffer,
} from "./pipeline_core.ts";
import { SHUTDOWN_BUDGET } from "./shutdown_budget.ts";
import type { Store } from "./store.ts";
import { createWakeup, type Wakeup } from "./wakeup.ts";

/** What a finished pipeline did. */
export interface PipelineSummary {
  readonly committedEvents: number;
  readonly flushes: number;
  readonly fenceMisses: number;
  /** Events taken from Kafka that could not be committed before stopping (read again next run). */
  readonly abandonedEvents: number;
  /** Events dropped uncommitted after a refused flush or a recreated topic (read again). */
  readonly discardedEvents: number;
}

/** The consumer stopped for a reason only an operator can resolve. */
export class ConsumerStoppedError extends Error {
  /** Creates the error with a message that says what happened and how to proceed. */
  constructor(message: string) {
    super(message);
    this.name = "ConsumerStoppedError";
  }
}

/** The pipeline's edges and clock. */
export interface PipelineDeps {
  readonly store: Store;
  readonly metrics: ConsumerMetrics;
  readonly log: Logger;
  /** The clock the core decides by (default: the real one). */
  readonly clock?: Clock;
  /** The jitter's source (default `Math.random`). */
  readonly random?: () => number;
}

/** What the parts of the shell share. */
export interface PipelineState {
  readonly config: ConsumerConfig;
  readonly store: Store;
  readonly metrics: ConsumerMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly core: ConsumerCore;
  readonly fence: OffsetFence;
  readonly summary: {
    -readonly [K in keyof PipelineSummary]: PipelineSummary[K];
  };
  /** Wakes the flush loop (a flush may be due). */
  readonly flushWake: Wakeup;
  /** Wakes batches waiting for room in the buffer. */
  readonly spaceWake: Wakeup;
  /** Aborted once stopping: waits that a stop must cut short listen to it. */
  readonly stopped: AbortController;
  buffer: BatchAggregate;
  assigned: Set<number>;
  source: KafkaSource | undefined;
  fatalError: Error | undefined;
  /** Bumped whenever buffered state is thrown away, so placements begun before it are void. */
  epoch: number;
  /** The placement in progress and the epoch it began in; concurrent batches wait for it. */
  placing: { readonly epoch: number; readonly done: Promise<void> } | undefined;
  /**
   * Where each partition stood in a topic that was deleted and created again, until its next
   * placement records what lay beyond its stored offset as lost with that topic.
   */
  readonly lostWithOldTopic: Map<number, { position: bigint; topicId: string | null }>;
  /** The Kafka client's last sign of life. */
  readonly kafkaWatch: KafkaWatch;
}

/** The state of a new pipeline. */
export function createPipelineState(config: ConsumerConfig, deps: PipelineDeps): PipelineState {
  const clock = deps.clock ?? systemClock;
  return {
    config,
    store: deps.store,
    metrics: deps.metrics,
    log: deps.log,
    clock,
    random: deps.random,
    core: createCore({
      flushEvents: config.flushEvents,
      flushIntervalMs: config.flushIntervalMs,
      maxBufferEvents: config.maxBufferEvents,
      maxBufferKeys: config.maxBufferKeys,
      stopFlushDeadlineMs: SHUTDOWN_BUDGET.flushDeadlineMs,
      ...CORE_DEFAULTS,
      notReadyAfterFailingMs: config.notReadyAfterMs,
    }),
    fence: createOffsetFence(),
    summary: emptySummary(),
    flushWake: createWakeup(clock),
    spaceWake: createWakeup(clock),
    stopped: new AbortController(),
    buffer: emptyAggregate(),
    assigned: new Set(),
    source: undefined,
    fatalError: undefined,
    epoch: 0,
    placing: undefined,
    lostWithOldTopic: new Map(),
    kafkaWatch: createKafkaWatch(kafkaWatchSettings(config.sessionTimeoutMs), clock.now()),
  };
}

/** Stops taking batches; the flush loop commits what is buffered and ends. */
export function stopPipeline(state: PipelineState): void {
  if (!beginStop(state.core, state.clock.now())) return;
  state.stopped.abort();
  state.source?.pause();
  state.flushWake.notify();
  state.spaceWake.notify();
}

/** Stops for a reason only an operator can resolve (kept for `fatal()`). */
export function failPipeline(state: PipelineState, error: Error): void {
  state.fatalError ??= error;
  state.log.error("stopping", { error });
  stopPipeline(state);
}

/** Forgets what is buffered and the fence (what was read is read again). */
export function forgetBuffered(state: PipelineState): number {
  const events = discardBuffer(state.core);
  state.buffer = emptyAggregate();
  resetFence(state.fence);
  state.epoch++;
  return events;
}

/** Drops what is buffered and `inFlightEvents` of a settled flush, counted as discarded. */
export function discardEverything(state: PipelineState, inFlightEvents: number): number {
  const events = inFlightEvents + forgetBuffered(state);
  state.summary.discardedEvents += events;
  state.metrics.discarded.inc({}, events);
  return events;
}

/** The lag metric of each placed partition, from the stored offsets. */
export function updateLag(state: PipelineState): void {
  for (const [partition, lag] of committedLag(state.fence)) {
    state.metrics.lag.set({ partition: String(partition) }, Number(lag));
  }
}

/** The buffered-events metric: in the buffer and in the flush being committed. */
export function setBuffered(state: PipelineState): void {
  state.metrics.buffered.set({}, state.core.bufferedEvents + state.core.inFlightEvents);
}

/** A summary of a run that has done nothing yet. */
export function emptySummary(): { -readonly [K in keyof PipelineSummary]: PipelineSummary[K] } {
  return { committedEvents: 0, flushes: 0, fenceMisses: 0, abandonedEvents: 0, discardedEvents: 0 };
}
