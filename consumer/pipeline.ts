/**
 * The consumer's moving parts between Kafka and PostgreSQL: the batch handler
 * (judge against the offset fence, aggregate, admit; wait while the buffer is
 * full) and the flush loop (cut, publish dead letters, commit in one fenced
 * transaction, retry with backoff). Fetching goes on while a flush commits, so
 * the next flush grows with the time PostgreSQL takes and batches stay large
 * exactly when the database is the bottleneck.
 */
import { DAY_MS, type DecodeOptions, type Logger, sleep } from "@activity/shared";
import { aggregateBatch, type BatchAggregate, emptyAggregate } from "./aggregate.ts";
import type { ConsumerConfig } from "./config.ts";
import { type FlushPlan, planEvents, planFlush } from "./flush_plan.ts";
import type { IncomingBatch, KafkaSource, SourceHandlers } from "./kafka_source.ts";
import { type ConsumerMetrics, recordCommit } from "./metrics.ts";
import {
  admitBatch,
  commitRanges,
  committedLag,
  createOffsetFence,
  cutRanges,
  forgetIdle,
  isPlaced,
  judgeBatch,
  placePartitions,
  resetFence,
  unreadMessages,
} from "./offset_fence.ts";
import { backoffDelayMs } from "./retry.ts";
import { createWakeup } from "./wakeup.ts";
import type { Store } from "./store.ts";

/** Rejected bytes held before fetching pauses (rejections keep their original values). */
const MAX_BUFFERED_REJECTED_BYTES = 32 * 1024 * 1024;
/** Messages decoded between two yields to the event loop (about 10 ms of work). */
const CHUNK_MESSAGES = 2_000;
/** The flush interval while far behind. */
const CATCH_UP_FLUSH_INTERVAL_MS = 2_000;
/** How long a stopping consumer keeps retrying its last flush. */
const STOP_FLUSH_DEADLINE_MS = 12_000;

/** What a finished pipeline did. */
export interface PipelineSummary {
  readonly committedEvents: number;
  readonly flushes: number;
  readonly fenceMisses: number;
  /** Events taken from Kafka that could not be committed before stopping (read again next run). */
  readonly abandonedEvents: number;
}

/** The running pipeline: Kafka handlers in, a flush loop out. */
export interface Pipeline {
  readonly handlers: SourceHandlers;
  /** Starts flushing through `source`; resolves after `stop` once the last flush is done. */
  run(source: KafkaSource): Promise<PipelineSummary>;
  /** Stops taking batches and makes `run` flush what is buffered and finish. */
  stop(): void;
  /** Partitions currently assigned. */
  assigned(): ReadonlySet<number>;
  /** Messages between stored offsets and high watermarks, over all placed partitions. */
  lag(): bigint;
  /** The Kafka client's fatal error, if it gave up. */
  fatal(): Error | undefined;
}

/** Creates the pipeline for one consumer. */
export function createPipeline(
  config: ConsumerConfig,
  deps: { store: Store; metrics: ConsumerMetrics; log: Logger },
): Pipeline {
  const { store, metrics, log } = deps;
  const fence = createOffsetFence();
  const eventTypes = new Set(config.eventTypes);
  let buffer: BatchAggregate = emptyAggregate();
  let bufferEvents = 0;
  let bufferSince = 0;
  let inFlightEvents = 0;
  let epoch = 0;
  let assigned = new Set<number>();
  let stopping = false;
  let stopDeadline = Infinity;
  let flushNow = false;
  let fatalError: Error | undefined;
  let source: KafkaSource | undefined;
  const behindWarned = new Set<number>();
  const flushWake = createWakeup();
  const spaceWake = createWakeup();
  const summary = { committedEvents: 0, flushes: 0, fenceMisses: 0, abandonedEvents: 0 };

  const decodeOptions = (): DecodeOptions => ({
    nowMs: Date.now(),
    eventTypes,
    futureToleranceMs: config.futureToleranceS * 1000,
    maxAgeMs: config.retentionDays * DAY_MS,
  });
  const isFull = () =>
    bufferEvents >= config.maxBufferEvents || buffer.rejectedBytes >= MAX_BUFFERED_REJECTED_BYTES;
  const setBuffered = () => metrics.buffered.set({}, bufferEvents + inFlightEvents);

  async function loadStoredOffsets(partition: number, batch: IncomingBatch): Promise<void> {
    const loadEpoch = epoch;
    for (let attempt = 1; !stopping && batch.isRunning(); attempt++) {
      try {
        const stored = await store.readStoredOffsets(config.group, config.topic);
        if (epoch !== loadEpoch) return;
        const places = new Map<number, bigint | null>();
        for (const p of new Set([...assigned, partition])) {
          if (!isPlaced(fence, p)) places.set(p, stored.get(p) ?? null);
        }
        placePartitions(fence, places);
        return;
      } catch (error) {
        const delay = backoffDelayMs(attempt);
        log.warn("cannot read the stored offsets; retrying", {
          attempt,
          retry_in_ms: delay,
          error,
        });
        await sleep(delay);
        await batch.heartbeat();
      }
    }
  }

  async function onBatch(batch: IncomingBatch): Promise<void> {
    const { partition, messages } = batch;
    if (messages.length === 0) return;
    const lastOffset = messages[messages.length - 1].offset;
    while (!stopping && batch.isRunning() && !batch.isStale()) {
      const decision = judgeBatch(fence, partition, messages);
      if (decision.kind === "load") {
        await loadStoredOffsets(partition, batch);
        continue;
      }
      if (decision.kind === "seek") {
        log.debug("seeking to the stored position", { partition, offset: decision.offset });
        source?.seek(partition, decision.offset);
        return;
      }
      if (decision.kind === "behind") {
        if (!behindWarned.has(partition)) {
          behindWarned.add(partition);
          log.error("the partition's log ends before the stored offset; was the topic recreated?", {
            partition,
            stored_offset: decision.storedOffset,
            log_offset: lastOffset,
          });
        }
        batch.resolveOffset(lastOffset);
        return;
      }
      if (isFull()) {
        // Backpressure: hold this batch (and so the fetcher) until a flush makes room.
        await spaceWake.wait(1_000);
        if (!stopping) await batch.heartbeat();
        continue;
      }
      const end = Math.min(messages.length, decision.from + CHUNK_MESSAGES);
      const chunk = decision.from === 0 && end === messages.length
        ? messages
        : messages.slice(decision.from, end);
      const chunkLast = chunk[chunk.length - 1].offset;
      aggregateBatch({ topic: batch.topic, partition, messages: chunk }, {
        decode: decodeOptions(),
        into: buffer,
      });
      if (bufferEvents === 0) bufferSince = Date.now();
      bufferEvents += chunk.length;
      admitBatch(fence, partition, { lastOffset: chunkLast, highWatermark: batch.highWatermark });
      batch.resolveOffset(chunkLast);
      metrics.consumed.inc({}, chunk.length);
      setBuffered();
      if (bufferEvents >= config.flushEvents) flushWake.notify();
      if (end === messages.length) return;
      // Let PostgreSQL replies and timers in between chunks; then judge the rest afresh.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  function onAssignment(partitions: readonly number[]): void {
    const current = new Set(partitions);
    const revoked = [...assigned].filter((p) => !current.has(p));
    const added = [...current].filter((p) => !assigned.has(p));
    // Partitions that come back may have moved on meanwhile: read their offsets again.
    forgetIdle(fence, [...revoked, ...added]);
    if (revoked.some((p) => isPlaced(fence, p))) {
      // Commit what we hold for them before the new owner does, so its work is not wasted.
      flushNow = true;
      flushWake.notify();
    }
    assigned = current;
    metrics.assigned.set({}, current.size);
    log.info("partitions assigned", { partitions: [...current].sort((a, b) => a - b).join(",") });
  }

  function cut(): FlushPlan {
    const plan = planFlush(buffer, cutRanges(fence), { group: config.group, topic: config.topic });
    buffer = emptyAggregate();
    inFlightEvents = bufferEvents;
    bufferEvents = 0;
    return plan;
  }

  function discardEverything(): void {
    buffer = emptyAggregate();
    bufferEvents = 0;
    resetFence(fence);
    epoch++;
  }

  async function commitWithRetry(plan: FlushPlan): Promise<void> {
    let deadLettersSent = plan.rejections.length === 0;
    for (let attempt = 1;; attempt++) {
      const started = performance.now();
      try {
        if (!deadLettersSent) {
          // Before the commit: a crash in between only repeats dead letters, never loses one.
          await source!.publishDeadLetters(plan.rejections);
          deadLettersSent = true;
          metrics.deadLetters.inc({}, plan.rejections.length);
        }
        const outcome = await store.commitFlush(plan);
        if (outcome.kind === "committed") {
          if (log.enabled("debug")) {
            log.debug("flush committed", {
              events: planEvents(plan),
              count_rows: plan.counts.users.length,
              ms: Math.round(performance.now() - started),
              ...Object.fromEntries(
                Object.entries(outcome.timings).map(([part, ms]) => [`${part}_ms`, Math.round(ms)]),
              ),
            });
          }
          commitRanges(fence, plan.ranges);
          recordCommit(metrics, plan, {
            rows: outcome.rows,
            durationMs: performance.now() - started,
            nowMs: Date.now(),
          });
          for (const [partition, lag] of committedLag(fence)) {
            metrics.lag.set({ partition: String(partition) }, Number(lag));
          }
          source!.commitGroupOffsets(plan.ranges);
          summary.committedEvents += planEvents(plan);
          summary.flushes++;
          return;
        }
        metrics.flushes.inc({ outcome: "fenced" });
        summary.fenceMisses++;
        log.warn("flush refused: the stored offsets moved on; reading them again", {
          partitions: outcome.partitions.join(","),
          discarded_events: planEvents(plan) + bufferEvents,
        });
        discardEverything();
        return;
      } catch (error) {
        metrics.flushes.inc({ outcome: "failed" });
        if (stopping && Date.now() >= stopDeadline) {
          summary.abandonedEvents += planEvents(plan) + bufferEvents;
          log.error("stopping without committing the last flush; it will be read again", {
            events: planEvents(plan) + bufferEvents,
            error,
          });
          discardEverything();
          return;
        }
        const delay = backoffDelayMs(attempt);
        log.warn("flush failed; nothing was committed, retrying", {
          attempt,
          retry_in_ms: delay,
          events: planEvents(plan),
          error,
        });
        await sleep(stopping ? Math.min(delay, Math.max(0, stopDeadline - Date.now())) : delay);
      }
    }
  }

  function stop(): void {
    if (stopping) return;
    stopping = true;
    stopDeadline = Date.now() + STOP_FLUSH_DEADLINE_MS;
    source?.pause();
    flushWake.notify();
    spaceWake.notify();
  }

  async function flushLoop(): Promise<void> {
    while (true) {
      // Far behind (draining a filled topic), latency is already lost: fewer, larger flushes
      // collapse more events into each row and leave the CPU to decoding.
      const catchingUp = unreadMessages(fence) > BigInt(config.maxBufferEvents);
      const threshold = catchingUp ? Math.ceil(config.maxBufferEvents / 2) : config.flushEvents;
      const interval = catchingUp ? CATCH_UP_FLUSH_INTERVAL_MS : config.flushIntervalMs;
      const age = Date.now() - bufferSince;
      const due = bufferEvents > 0 &&
        (stopping || flushNow || bufferEvents >= threshold || age >= interval);
      if (!due) {
        if (stopping) return;
        await flushWake.wait(bufferEvents > 0 ? Math.max(1, interval - age) : interval);
        continue;
      }
      flushNow = false;
      const plan = cut();
      await commitWithRetry(plan);
      inFlightEvents = 0;
      setBuffered();
      spaceWake.notify();
    }
  }

  return {
    handlers: {
      onBatch,
      onAssignment,
      onFatal(error) {
        fatalError = error;
        log.error("the Kafka client gave up", { error });
        stop();
      },
    },
    async run(started) {
      source = started;
      await flushLoop();
      return { ...summary };
    },
    stop,
    assigned: () => assigned,
    lag: () => [...committedLag(fence).values()].reduce((sum, lag) => sum + lag, 0n),
    fatal: () => fatalError,
  };
}
