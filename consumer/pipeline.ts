/**
 * The consumer's I/O shell between Kafka and PostgreSQL: the batch handler
 * (judge batches against the offset fence, aggregate, wait while the buffer is
 * full) and the flush loop (cut a plan and commit it: `flush_commit.ts`);
 * where each partition is read from is `log_watch.ts`'s. Every
 * decision about time — when to flush, how long to back off, when to give up,
 * when to report not ready — is the pure core's (`pipeline_core.ts`), read
 * through an injected clock. Fetching goes on while a flush commits, so the
 * next flush grows with the time PostgreSQL takes and batches stay large
 * exactly when the database is the bottleneck.
 */
import { setImmediate } from "node:timers";
import { DAY_MS, MINUTE_MS } from "@activity/shared";
import { aggregateBatch, emptyAggregate } from "./aggregate.ts";
import type { ConsumerConfig } from "./config.ts";
import { commitPlan } from "./flush_commit.ts";
import { type FlushPlan, planFlush } from "./flush_plan.ts";
import type { IncomingBatch, KafkaSource, SourceHandlers } from "./batch_source.ts";
import { judgeKafkaWatch, noteKafkaSign, silenceReason } from "./kafka_watch.ts";
import { place, placeAssigned, reexamine } from "./log_watch.ts";
import {
  admitBatch,
  committedLag,
  cutRanges,
  forgetIdle,
  isPlaced,
  judgeBatch,
  unreadMessages,
} from "./offset_fence.ts";
import {
  admitToBuffer,
  cutBuffer,
  flushDecision,
  isBufferFull,
  type Readiness,
  readiness,
} from "./pipeline_core.ts";
import {
  ConsumerStoppedError,
  createPipelineState,
  failPipeline,
  type PipelineDeps,
  type PipelineSummary,
  setBuffered,
  stopPipeline,
} from "./pipeline_state.ts";

export { ConsumerStoppedError, type PipelineDeps, type PipelineSummary } from "./pipeline_state.ts";

/** Messages decoded between two yields to the event loop (about 10 ms of work). */
const CHUNK_MESSAGES = 2_000;

/** How often the Kafka client's silence is judged. */
const WATCH_INTERVAL_MS = 5_000;

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
  /** Why the pipeline stopped by itself, if it did. */
  fatal(): Error | undefined;
  /** Whether the consumer can work now, given whether PostgreSQL answers. */
  readiness(databaseAnswers: boolean): Readiness;
}

/** Creates the pipeline for one consumer. */
export function createPipeline(config: ConsumerConfig, deps: PipelineDeps): Pipeline {
  const state = createPipelineState(config, deps);
  const { core, fence, metrics, clock, log } = state;
  const eventTypes = new Set(config.eventTypes);

  async function onBatch(batch: IncomingBatch): Promise<void> {
    const { partition, messages } = batch;
    onActivity();
    if (messages.length === 0) return;
    while (core.stopDeadlineMs === null && batch.isRunning() && !batch.isStale()) {
      noteKafkaSign(state.kafkaWatch, clock.now()); // waiting here for room or offsets is alive
      const decision = judgeBatch(fence, partition, messages);
      if (decision.kind === "load") {
        await place(state, [partition], batch);
        if (!isPlaced(fence, partition)) return; // stopping, or the partition vanished
        continue;
      }
      if (decision.kind === "seek") {
        log.debug("seeking to the stored position", { partition, offset: decision.offset });
        state.source?.seek(partition, decision.offset);
        return;
      }
      if (decision.kind === "behind" || decision.kind === "jump") {
        await reexamine(state, partition, decision);
        continue;
      }
      if (isBufferFull(core)) {
        // Backpressure: hold this batch (and so the fetcher) until a flush makes room.
        await state.spaceWake.wait(1_000);
        if (core.stopDeadlineMs === null) await batch.heartbeat();
        continue;
      }
      const end = Math.min(messages.length, decision.from + CHUNK_MESSAGES);
      const chunk = decision.from === 0 && end === messages.length
        ? messages
        : messages.slice(decision.from, end);
      const chunkLast = chunk[chunk.length - 1].offset;
      const { buffer } = state;
      const rejectedBefore = buffer.rejectedBytes;
      aggregateBatch({ topic: batch.topic, partition, messages: chunk }, {
        decode: {
          nowMs: clock.now(),
          eventTypes,
          futureToleranceMs: config.futureToleranceS * 1000,
          maxAgeMs: config.retentionDays * DAY_MS + MINUTE_MS,
        },
        retentionDays: config.retentionDays,
        into: buffer,
      });
      admitToBuffer(core, {
        events: chunk.length,
        rejectedBytes: buffer.rejectedBytes - rejectedBefore,
        keys: buffer.keys,
        nowMs: clock.now(),
      });
      admitBatch(fence, partition, { lastOffset: chunkLast, highWatermark: batch.highWatermark });
      batch.resolveOffset(chunkLast);
      metrics.consumed.inc({}, chunk.length);
      setBuffered(state);
      // The flush loop decides afresh once a flush is big enough, or when this was the last of
      // what there is to read (a drained backlog is flushed at once).
      if (core.bufferedEvents >= config.flushEvents || unreadMessages(fence) === 0n) {
        state.flushWake.notify();
      }
      if (end === messages.length) return;
      // Let PostgreSQL replies and timers in between chunks; then judge the rest afresh. Not
      // `setTimeout(0)`: its least delay is a millisecond, a tenth of a chunk's work, idle.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  function onAssignment(partitions: readonly number[]): void {
    const current = new Set(partitions);
    const revoked = [...state.assigned].filter((p) => !current.has(p));
    const added = [...current].filter((p) => !state.assigned.has(p));
    // Partitions that come back may have moved on meanwhile: read their offsets again.
    forgetIdle(fence, [...revoked, ...added]);
    if (revoked.some((p) => isPlaced(fence, p))) {
      // Commit what we hold for them before the new owner does, so its work is not wasted.
      core.flushRequested = true;
      state.flushWake.notify();
    }
    state.assigned = current;
    metrics.assigned.set({}, current.size);
    log.info("partitions assigned", { partitions: [...current].sort((a, b) => a - b).join(",") });
    placeAssigned(state);
  }

  function onActivity(): void {
    const toldMs = noteKafkaSign(state.kafkaWatch, clock.now());
    if (toldMs > 0) {
      log.info("the Kafka client shows signs of life again", { silent_s: toldMs / 1000 });
    }
  }

  async function watchKafka(): Promise<void> {
    while (!state.stopped.signal.aborted) {
      await clock.sleep(WATCH_INTERVAL_MS, state.stopped.signal);
      const verdict = judgeKafkaWatch(state.kafkaWatch, {
        nowMs: clock.now(),
        stopping: core.stopDeadlineMs !== null,
      });
      if (verdict.kind === "silent" && verdict.tell) {
        log.warn(`${silenceReason(verdict.silentMs)}; not ready`, {
          partitions: [...state.assigned].sort((a, b) => a - b).join(","),
          stops_after_s: state.kafkaWatch.settings.stalledAfterMs / 1000,
        });
      } else if (verdict.kind === "stalled") {
        failPipeline(
          state,
          new ConsumerStoppedError(
            `Cannot consume: ${silenceReason(verdict.silentMs)}; stopping so that a restart ` +
              "rejoins the group (offsets are in PostgreSQL: nothing read is lost or counted twice)",
          ),
        );
      }
    }
  }

  function cutPlan(): FlushPlan {
    const plan = planFlush(state.buffer, cutRanges(fence), {
      group: config.group,
      topic: config.topic,
      topicId: fence.topicId,
    });
    state.buffer = emptyAggregate();
    cutBuffer(core);
    return plan;
  }

  async function flushLoop(): Promise<void> {
    while (true) {
      const decision = flushDecision(core, {
        nowMs: clock.now(),
        unreadMessages: unreadMessages(fence),
      });
      if (decision.kind === "finished") return;
      if (decision.kind === "wait") {
        await state.flushWake.wait(decision.ms);
        continue;
      }
      await commitPlan(state, cutPlan());
      setBuffered(state);
      state.spaceWake.notify();
    }
  }

  return {
    handlers: {
      onBatch,
      onAssignment,
      onFatal: (error) => failPipeline(state, error),
      onActivity,
      onBlocked(reason) {
        core.blocked = reason;
      },
    },
    async run(started) {
      state.source = started;
      onActivity();
      const watching = watchKafka();
      placeAssigned(state);
      await flushLoop();
      await watching;
      return { ...state.summary };
    },
    stop: () => stopPipeline(state),
    assigned: () => state.assigned,
    lag: () => [...committedLag(fence).values()].reduce((sum, lag) => sum + lag, 0n),
    fatal: () => state.fatalError,
    readiness(databaseAnswers) {
      const nowMs = clock.now();
      let ready = readiness(core, {
        nowMs,
        assignedPartitions: state.assigned.size,
        databaseAnswers,
      });
      const silentMs = nowMs - state.kafkaWatch.lastSignMs;
      if (ready.ready && state.source && silentMs >= state.kafkaWatch.settings.silentAfterMs) {
        ready = { ready: false, reason: silenceReason(silentMs) };
      }
      metrics.ready.set({}, ready.ready ? 1 : 0);
      return ready;
    },
  };
}
