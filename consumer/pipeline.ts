/**
 * The consumer's I/O shell between Kafka and PostgreSQL: the batch handler
 * (place partitions, judge batches against the offset fence, aggregate, wait
 * while the buffer is full) and the flush loop (cut, check the topic is still
 * the one read, publish dead letters, commit in one fenced statement). Every
 * decision about time — when to flush, how long to back off, when to give up,
 * when to report not ready — is the pure core's (`pipeline_core.ts`), read
 * through an injected clock. Fetching goes on while a flush commits, so the
 * next flush grows with the time PostgreSQL takes and batches stay large
 * exactly when the database is the bottleneck.
 */
import { type Clock, DAY_MS, type Logger, MINUTE_MS, systemClock } from "@activity/shared";
import { aggregateBatch, type BatchAggregate, emptyAggregate } from "./aggregate.ts";
import type { ConsumerConfig } from "./config.ts";
import type { DeadLetterOutcome } from "./dead_letters.ts";
import { type FlushPlan, planEvents, planFlush } from "./flush_plan.ts";
import type { IncomingBatch, KafkaSource, SourceHandlers, TopicLogs } from "./kafka_source.ts";
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
  movedWithoutMessages,
  placePartitions,
  positions,
  recordGap,
  resetFence,
  skipTo,
  unreadMessages,
} from "./offset_fence.ts";
import { decidePlacement, type Placement } from "./partition_placement.ts";
import {
  admitRangeOnly,
  admitToBuffer,
  beginStop,
  CORE_DEFAULTS,
  type CoreTransition,
  createCore,
  cutBuffer,
  discardBuffer,
  flushDecision,
  flushFailed,
  flushSettled,
  isBufferFull,
  type Readiness,
  readiness,
} from "./pipeline_core.ts";
import {
  classifyDatabaseError,
  classifyKafkaError,
  isKafkaError,
  retryWithBackoff,
} from "./retry.ts";
import { SHUTDOWN_BUDGET } from "./shutdown_budget.ts";
import { createWakeup } from "./wakeup.ts";
import type { Store } from "./store.ts";

/** Messages decoded between two yields to the event loop (about 10 ms of work). */
const CHUNK_MESSAGES = 2_000;

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

/** Creates the pipeline for one consumer. */
export function createPipeline(config: ConsumerConfig, deps: PipelineDeps): Pipeline {
  const { store, metrics, log } = deps;
  const clock = deps.clock ?? systemClock;
  const core = createCore({
    flushEvents: config.flushEvents,
    flushIntervalMs: config.flushIntervalMs,
    maxBufferEvents: config.maxBufferEvents,
    stopFlushDeadlineMs: SHUTDOWN_BUDGET.flushDeadlineMs,
    ...CORE_DEFAULTS,
    notReadyAfterFailingMs: config.notReadyAfterMs,
  });
  const fence = createOffsetFence();
  const eventTypes = new Set(config.eventTypes);
  const summary = {
    committedEvents: 0,
    flushes: 0,
    fenceMisses: 0,
    abandonedEvents: 0,
    discardedEvents: 0,
  };
  let buffer: BatchAggregate = emptyAggregate();
  let assigned = new Set<number>();
  let fatalError: Error | undefined;
  let source: KafkaSource | undefined;
  /** Bumped whenever buffered state is thrown away, so placements begun before it are void. */
  let epoch = 0;
  let placing: Promise<void> | undefined;
  const flushWake = createWakeup(clock);
  const spaceWake = createWakeup(clock);
  const stopped = new AbortController();

  const setBuffered = () => metrics.buffered.set({}, core.bufferedEvents + core.inFlightEvents);
  const report = (transition: CoreTransition | null) => {
    if (transition) logTransition(log, transition);
  };

  function fail(error: Error): void {
    fatalError ??= error;
    log.error("stopping", { error });
    stop();
  }

  /** Places `partitions` (and any assigned partition not placed yet) from the stored offsets. */
  function place(partitions: readonly number[], batch?: IncomingBatch): Promise<void> {
    placing ??= placeOnce(partitions, batch).finally(() => placing = undefined);
    return placing;
  }

  async function placeOnce(partitions: readonly number[], batch?: IncomingBatch): Promise<void> {
    const placeEpoch = epoch;
    const found = await retryWithBackoff(async () => {
      const [stored, logs] = await Promise.all([
        store.readStoredOffsets(config.group, config.topic),
        source!.describeTopic(),
      ]);
      return { stored, logs };
    }, {
      clock,
      signal: stopped.signal,
      retryable: () => true,
      onRetry: async (error, info) => {
        log.warn("cannot read the stored offsets or the topic's offsets; retrying", {
          ...info,
          error,
        });
        await batch?.heartbeat().catch(() => {});
      },
    });
    if (!found || epoch !== placeEpoch) return;
    const { stored, logs } = found;
    if (fence.partitions.size > 0 && isOtherTopic(fence.topicId, logs.topicId)) {
      // Partitions placed earlier were read from the topic that is gone.
      await topicReplaced(logs.topicId!, 0);
      return;
    }
    fence.topicId = logs.topicId;
    const placements = new Map<number, Placement>();
    for (const partition of new Set([...assigned, ...partitions])) {
      if (isPlaced(fence, partition)) continue;
      const partitionLog = logs.partitions.get(partition);
      if (!partitionLog) continue; // not (yet) in the topic's metadata: placed when its batch comes
      const decision = decidePlacement(stored.get(partition), partitionLog, logs.topicId);
      if (decision.kind === "truncated") {
        fail(truncatedError(config, partition, decision));
        return;
      }
      noticePlacement(partition, decision, logs);
      placements.set(partition, decision.placement);
    }
    placePartitions(fence, placements);
    for (const [partition, placement] of placements) {
      // Kafka's own position may differ (offsets restored from a backup, a recreated topic):
      // read from ours, even when no new message would ever make a batch arrive.
      if (assigned.has(partition)) source!.seek(partition, placement.position.toString());
    }
    const moved = movedWithoutMessages(fence).length;
    for (let i = 0; i < moved; i++) admitRangeOnly(core, clock.now());
    if (moved > 0) flushWake.notify();
    updateLag();
  }

  function noticePlacement(
    partition: number,
    decision: ReturnType<typeof decidePlacement>,
    logs: TopicLogs,
  ): void {
    const fields = { topic: config.topic, partition };
    if (decision.kind === "recreated") {
      log.warn(
        "the topic was deleted and created again: reading this partition of the new " +
          "topic from its start",
        {
          ...fields,
          old_topic_id: decision.storedTopicId,
          topic_id: logs.topicId,
          stored_offset: String(decision.placement.committed),
        },
      );
    } else if (decision.kind === "gap") {
      log.warn(
        "messages were removed by retention before this group read them: counted as " +
          "lost (consumer_offset_gaps)",
        {
          ...fields,
          from_offset: decision.placement.gap!.from,
          to_offset: decision.placement.gap!.to,
          lost: Number(decision.lost),
        },
      );
    } else if (decision.kind === "new") {
      log.info("no stored offset: reading the partition from its first retained message", {
        ...fields,
        offset: String(decision.placement.position),
      });
    }
  }

  /** The log under a placed partition changed (behind, or a jump): find out how, and act. */
  async function reexamine(
    partition: number,
    observed: { kind: "behind"; position: string } | { kind: "jump"; from: string; to: string },
  ): Promise<void> {
    const logs = await retryWithBackoff(() => source!.describeTopic(), {
      clock,
      signal: stopped.signal,
      retryable: () => true,
      onRetry: (error, info) =>
        log.warn("cannot read the topic's offsets; retrying", { ...info, error }),
    });
    if (!logs || !isPlaced(fence, partition)) return;
    if (isOtherTopic(fence.topicId, logs.topicId)) {
      await topicReplaced(logs.topicId!, 0);
      return;
    }
    const partitionLog = logs.partitions.get(partition);
    if (observed.kind === "behind") {
      const position = BigInt(observed.position);
      if (partitionLog && position > partitionLog.highWatermark) {
        fail(truncatedError(config, partition, {
          storedOffset: position,
          highWatermark: partitionLog.highWatermark,
        }));
        return;
      }
      // A replay of old messages after our seek, yet the log holds our position: ask again.
      await clock.sleep(1_000, stopped.signal);
      source?.seek(partition, observed.position);
      return;
    }
    const from = BigInt(observed.from);
    const to = BigInt(observed.to);
    const logStart = partitionLog?.logStart ?? from;
    const removedTo = logStart > from ? (logStart < to ? logStart : to) : from;
    if (removedTo > from) {
      recordGap(fence, partition, { from: observed.from, to: removedTo.toString() });
      admitRangeOnly(core, clock.now());
      log.warn(
        "messages were removed by retention before this group read them: counted as " +
          "lost (consumer_offset_gaps)",
        {
          topic: config.topic,
          partition,
          from_offset: observed.from,
          to_offset: removedTo.toString(),
        },
      );
    }
    // The rest are offsets that never held a message for us (compaction, transaction markers).
    skipTo(fence, partition, to);
  }

  /** The topic now has another id: what was read from the old one cannot be committed as its. */
  async function topicReplaced(topicId: string, inFlightEvents: number): Promise<void> {
    const lost = [...positions(fence)];
    const held = new Map(lost);
    log.warn(
      "the topic was deleted and created again while it was read: what was read and not " +
        "yet committed is gone with the old topic; reading the new topic from its start",
      {
        topic: config.topic,
        old_topic_id: fence.topicId,
        topic_id: topicId,
        discarded_events: core.bufferedEvents + inFlightEvents,
      },
    );
    const oldTopicId = fence.topicId;
    discardEverything(inFlightEvents);
    await place([...held.keys()]);
    // Record what the old topic held beyond the stored offsets as lost with it.
    for (const [partition, position] of held) {
      const progress = fence.partitions.get(partition);
      if (progress?.committed != null && position > progress.committed) {
        progress.gaps.push({
          from: progress.committed.toString(),
          to: position.toString(),
          topicId: oldTopicId,
        });
      }
    }
  }

  async function onBatch(batch: IncomingBatch): Promise<void> {
    const { partition, messages } = batch;
    if (messages.length === 0) return;
    while (core.stopDeadlineMs === null && batch.isRunning() && !batch.isStale()) {
      const decision = judgeBatch(fence, partition, messages);
      if (decision.kind === "load") {
        await place([partition], batch);
        if (!isPlaced(fence, partition)) return; // stopping, or the partition vanished
        continue;
      }
      if (decision.kind === "seek") {
        log.debug("seeking to the stored position", { partition, offset: decision.offset });
        source?.seek(partition, decision.offset);
        return;
      }
      if (decision.kind === "behind" || decision.kind === "jump") {
        await reexamine(partition, decision);
        continue;
      }
      if (isBufferFull(core)) {
        // Backpressure: hold this batch (and so the fetcher) until a flush makes room.
        await spaceWake.wait(1_000);
        if (core.stopDeadlineMs === null) await batch.heartbeat();
        continue;
      }
      const end = Math.min(messages.length, decision.from + CHUNK_MESSAGES);
      const chunk = decision.from === 0 && end === messages.length
        ? messages
        : messages.slice(decision.from, end);
      const chunkLast = chunk[chunk.length - 1].offset;
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
        nowMs: clock.now(),
      });
      admitBatch(fence, partition, { lastOffset: chunkLast, highWatermark: batch.highWatermark });
      batch.resolveOffset(chunkLast);
      metrics.consumed.inc({}, chunk.length);
      setBuffered();
      if (core.bufferedEvents >= config.flushEvents) flushWake.notify();
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
      core.flushRequested = true;
      flushWake.notify();
    }
    assigned = current;
    metrics.assigned.set({}, current.size);
    log.info("partitions assigned", { partitions: [...current].sort((a, b) => a - b).join(",") });
    placeAssigned();
  }

  /**
   * Places newly assigned partitions at once rather than on their first batch: a partition with
   * nothing to read still shows its lag, and a truncated log stops the consumer right away.
   */
  function placeAssigned(): void {
    if (!source || core.stopDeadlineMs !== null) return;
    place([...assigned]).catch((error) => log.warn("cannot place the partitions", { error }));
  }

  function cut(): FlushPlan {
    const plan = planFlush(buffer, cutRanges(fence), {
      group: config.group,
      topic: config.topic,
      topicId: fence.topicId,
    });
    buffer = emptyAggregate();
    cutBuffer(core);
    return plan;
  }

  /** Drops what is buffered and `inFlightEvents` of a settled flush; forgets the fence. */
  function discardEverything(inFlightEvents: number): number {
    const events = inFlightEvents + discardBuffer(core);
    buffer = emptyAggregate();
    resetFence(fence);
    epoch++;
    summary.discardedEvents += events;
    metrics.discarded.inc({}, events);
    return events;
  }

  /** After a refused flush: the stored offsets are the truth; go back to them at once. */
  async function returnToStoredOffsets(inFlightEvents: number): Promise<void> {
    discardEverything(inFlightEvents);
    // Placing seeks every assigned partition: without that, a partition that gets no new
    // message would never be read again.
    await place([...assigned]);
  }

  function updateLag(): void {
    for (const [partition, lag] of committedLag(fence)) {
      metrics.lag.set({ partition: String(partition) }, Number(lag));
    }
  }

  /** Commits one plan, retrying as the core decides; returns when it settled. */
  async function commit(plan: FlushPlan): Promise<void> {
    let deadLetters: DeadLetterOutcome[] | undefined = plan.rejections.length === 0
      ? []
      : undefined;
    let withoutRejectedBytes = false;
    while (true) {
      const started = performance.now();
      try {
        if (plan.topicId !== null) {
          const logs = await source!.describeTopic();
          if (logs.topicId !== null && logs.topicId !== plan.topicId) {
            report(flushSettled(core, clock.now()));
            await topicReplaced(logs.topicId, planEvents(plan));
            return;
          }
        }
        if (deadLetters === undefined) {
          // Before the commit: a crash in between only repeats dead letters, never loses one.
          deadLetters = await source!.publishDeadLetters(plan.rejections);
          for (const outcome of deadLetters) {
            const label = outcome === "sent" ? "sent" : outcome === "sent cut" ? "cut" : "refused";
            metrics.deadLetters.inc({ outcome: label });
          }
        }
        const outcome = await store.commitFlush(plan, {
          deadLetters,
          withoutBytes: withoutRejectedBytes,
        });
        if (outcome.kind === "committed") {
          commitRanges(fence, plan.ranges);
          recordCommit(metrics, plan, {
            rows: outcome.rows,
            durationMs: performance.now() - started,
            nowMs: clock.now(),
          });
          updateLag();
          source!.commitGroupOffsets(plan.ranges);
          summary.committedEvents += planEvents(plan);
          summary.flushes++;
          report(flushSettled(core, clock.now()));
          if (log.enabled("debug")) {
            log.debug("flush committed", {
              events: planEvents(plan),
              count_rows: plan.counts.users.length,
              ms: Math.round(performance.now() - started),
              ...Object.fromEntries(
                Object.entries(outcome.timings).map(([step, ms]) => [`${step}_ms`, Math.round(ms)]),
              ),
            });
          }
          return;
        }
        report(flushSettled(core, clock.now()));
        if (outcome.kind === "not_owner") {
          discardEverything(planEvents(plan));
          fail(
            new ConsumerStoppedError(
              `Stopping: topic "${config.topic}" was handed over to consumer group ` +
                `"${outcome.owner}"; this consumer (group "${config.group}") must not count it. ` +
                `Run with --group ${outcome.owner} to count it again.`,
            ),
          );
          return;
        }
        metrics.flushes.inc({ outcome: "fenced" });
        summary.fenceMisses++;
        log.warn("flush refused: the stored offsets moved on; reading from them again", {
          partitions: outcome.partitions.join(","),
          discarded_events: planEvents(plan) + core.bufferedEvents,
        });
        await returnToStoredOffsets(planEvents(plan));
        return;
      } catch (error) {
        metrics.flushes.inc({ outcome: "failed" });
        const failure = isKafkaError(error)
          ? classifyKafkaError(error)
          : classifyDatabaseError(error);
        const decision = flushFailed(core, { nowMs: clock.now(), failure, random: deps.random });
        if (decision.kind === "abandon") {
          summary.abandonedEvents += decision.events;
          log.error("stopping without committing the last flush; it will be read again", {
            events: decision.events,
            error,
          });
          flushSettled(core, clock.now()); // abandoned: not a recovery to announce
          // Abandoned, not discarded: counted once, as abandoned.
          discardBuffer(core);
          buffer = emptyAggregate();
          resetFence(fence);
          epoch++;
          return;
        }
        decision.transitions.forEach(report);
        withoutRejectedBytes ||= decision.withoutRejectedBytes;
        log.debug("flush failed; nothing was committed, retrying", {
          attempt: core.failing?.attempts,
          retry_in_ms: decision.delayMs,
          events: planEvents(plan),
          error,
        });
        // Before a stop, a stop cuts the wait short; while stopping, the core caps the wait.
        await clock.sleep(
          decision.delayMs,
          core.stopDeadlineMs === null ? stopped.signal : undefined,
        );
      }
    }
  }

  function stop(): void {
    if (!beginStop(core, clock.now())) return;
    stopped.abort();
    source?.pause();
    flushWake.notify();
    spaceWake.notify();
  }

  async function flushLoop(): Promise<void> {
    while (true) {
      const decision = flushDecision(core, {
        nowMs: clock.now(),
        unreadMessages: unreadMessages(fence),
      });
      if (decision.kind === "finished") return;
      if (decision.kind === "wait") {
        await flushWake.wait(decision.ms);
        continue;
      }
      await commit(cut());
      setBuffered();
      spaceWake.notify();
    }
  }

  return {
    handlers: {
      onBatch,
      onAssignment,
      onFatal(error) {
        fail(error);
      },
      onBlocked(reason) {
        core.blocked = reason;
      },
    },
    async run(started) {
      source = started;
      placeAssigned();
      await flushLoop();
      return { ...summary };
    },
    stop,
    assigned: () => assigned,
    lag: () => [...committedLag(fence).values()].reduce((sum, lag) => sum + lag, 0n),
    fatal: () => fatalError,
    readiness(databaseAnswers) {
      const state = readiness(core, {
        nowMs: clock.now(),
        assignedPartitions: assigned.size,
        databaseAnswers,
      });
      metrics.ready.set({}, state.ready ? 1 : 0);
      return state;
    },
  };
}

function isOtherTopic(placedId: string | null, currentId: string | null): boolean {
  return placedId !== null && currentId !== null && placedId !== currentId;
}

function truncatedError(
  config: ConsumerConfig,
  partition: number,
  found: { storedOffset: bigint; highWatermark: bigint },
): ConsumerStoppedError {
  return new ConsumerStoppedError(
    `Stopping: partition ${partition} of topic "${config.topic}" ends at offset ` +
      `${found.highWatermark}, but consumer group "${config.group}" has read it up to offset ` +
      `${found.storedOffset}: the log was truncated (data lost on the brokers, e.g. an unclean ` +
      `leader election or a restored broker). Nothing was skipped or counted. To re-read the ` +
      `partition from its start (counting its retained messages again), delete the stored ` +
      `offset: DELETE FROM consumer_offsets WHERE consumer_group = '${config.group}' AND ` +
      `topic = '${config.topic}' AND partition = ${partition}; to wait for the data to come ` +
      `back, restart the consumer once the brokers hold it again.`,
  );
}

function logTransition(log: Logger, transition: CoreTransition): void {
  switch (transition.kind) {
    case "failing":
      log.warn("flushes are failing; nothing is committed, retrying with backoff", {
        kind: transition.failure.kind,
        code: transition.failure.code,
        error: transition.failure.summary,
      });
      return;
    case "not_ready":
      log.error("flushes have kept failing: reporting not ready on /readyz until one commits", {
        failing_for_s: Math.round(transition.forMs / 1000),
        kind: transition.failure.kind,
        code: transition.failure.code,
        error: transition.failure.summary,
      });
      return;
    case "recovered":
      log.info("flushes commit again", {
        after_s: Math.round(transition.afterMs / 100) / 10,
        failed_attempts: transition.attempts,
      });
  }
}
