/**
 * Where each partition is read from, and what happens when the topic's log
 * changes under the consumer: partitions are placed from the stored offsets
 * and the log's bounds (`decidePlacement`), a batch that starts before or
 * after the position makes the log be examined again (truncation, retention
 * gaps), a new topic id means the topic was recreated, and a refused flush
 * sends every partition back to its stored offset at once. The I/O shell
 * around the pure `partition_placement.ts` and `offset_fence.ts`.
 */
import type { ConsumerConfig } from "./config.ts";
import type { IncomingBatch, TopicLogs } from "./batch_source.ts";
import {
  isPlaced,
  movedWithoutMessages,
  positions,
  recordGap,
  recordPlacements,
  skipTo,
} from "./offset_fence.ts";
import { decidePlacement, type Placement, type StoredOffset } from "./partition_placement.ts";
import { admitRangeOnly } from "./pipeline_core.ts";
import {
  ConsumerStoppedError,
  discardEverything,
  failPipeline,
  type PipelineState,
  updateLag,
} from "./pipeline_state.ts";
import { retryWithBackoff } from "./retry.ts";

/**
 * Places `partitions` (and any assigned partition not placed yet); concurrent calls share the
 * placement in flight. One begun before buffered state was thrown away (a refused flush, a
 * recreated topic) ends without placing or seeking: place again until one began and ended in
 * the current epoch, or reading would skip or stall where the discarded state stood.
 */
export async function place(
  state: PipelineState,
  partitions: readonly number[],
  batch?: IncomingBatch,
): Promise<void> {
  while (true) {
    const epoch = state.epoch;
    let placing = state.placing;
    if (!placing) {
      const started = {
        epoch,
        done: placeOnce(state, partitions, batch).finally(() => {
          if (state.placing === started) state.placing = undefined;
        }),
      };
      placing = state.placing = started;
    }
    await placing.done;
    // Stopping ends placeOnce without placing and leaves the epoch alone: this ends too.
    if (placing.epoch === epoch && state.epoch === epoch) return;
  }
}

/**
 * Places newly assigned partitions at once rather than on their first batch: a partition with
 * nothing to read still shows its lag, and a truncated log stops the consumer right away.
 */
export function placeAssigned(state: PipelineState): void {
  if (!state.source || state.core.stopDeadlineMs !== null) return;
  place(state, [...state.assigned]).catch((error) =>
    state.log.warn("cannot place the partitions", { error })
  );
}

/** After a refused flush: the stored offsets are the truth; go back to them at once. */
export async function returnToStoredOffsets(
  state: PipelineState,
  inFlightEvents: number,
): Promise<void> {
  discardEverything(state, inFlightEvents);
  // Placing seeks every assigned partition: without that, a partition that gets no new
  // message would never be read again.
  await place(state, [...state.assigned]);
}

async function placeOnce(
  state: PipelineState,
  partitions: readonly number[],
  batch?: IncomingBatch,
): Promise<void> {
  const { fence, log, config } = state;
  const placeEpoch = state.epoch;
  const found = await retryWithBackoff(async () => {
    const [stored, logs] = await Promise.all([
      state.store.readStoredOffsets(config.group, config.topic),
      state.source!.describeTopic(),
    ]);
    return { stored, logs };
  }, {
    clock: state.clock,
    signal: state.stopped.signal,
    retryable: () => true,
    onRetry: async (error, info) => {
      log.warn("cannot read the stored offsets or the topic's offsets; retrying", {
        ...info,
        error,
      });
      await batch?.heartbeat().catch(() => {});
    },
  });
  if (!found || state.epoch !== placeEpoch) return;
  const { stored, logs } = found;
  if (fence.partitions.size > 0 && isOtherTopic(fence.topicId, logs.topicId)) {
    // Partitions placed earlier were read from the topic that is gone. Not `topicReplaced`:
    // its placement would wait for this one; the epoch moved on, so `place` places again.
    forgetReplacedTopic(state, { topicId: logs.topicId!, inFlightEvents: 0 });
    return;
  }
  fence.topicId = logs.topicId;
  const placements = new Map<number, Placement>();
  for (const partition of new Set([...state.assigned, ...partitions])) {
    if (isPlaced(fence, partition)) continue;
    const partitionLog = logs.partitions.get(partition);
    if (!partitionLog) continue; // not (yet) in the topic's metadata: placed when its batch comes
    const decision = decidePlacement(stored.get(partition), partitionLog, logs.topicId);
    if (decision.kind === "truncated") {
      failPipeline(state, truncatedError(config, partition, decision));
      return;
    }
    noticePlacement(state, { partition, decision, logs });
    placements.set(partition, decision.placement);
  }
  recordPlacements(fence, placements);
  // After recordPlacements, which starts each placed partition's gaps afresh.
  recordLostWithOldTopic(state, { placements, stored });
  for (const [partition, placement] of placements) {
    // Kafka's own position may differ (offsets restored from a backup, a recreated topic):
    // read from ours, even when no new message would ever make a batch arrive.
    if (state.assigned.has(partition)) {
      state.source!.seek(partition, placement.position.toString());
    }
  }
  const moved = movedWithoutMessages(fence).length;
  for (let i = 0; i < moved; i++) admitRangeOnly(state.core, state.clock.now());
  if (moved > 0) state.flushWake.notify();
  updateLag(state);
}

function noticePlacement(
  state: PipelineState,
  placed: { partition: number; decision: ReturnType<typeof decidePlacement>; logs: TopicLogs },
): void {
  const { decision } = placed;
  const fields = { topic: state.config.topic, partition: placed.partition };
  if (decision.kind === "recreated") {
    state.log.warn(
      "the topic was deleted and created again: reading this partition of the new topic " +
        "from its start",
      {
        ...fields,
        old_topic_id: decision.storedTopicId,
        topic_id: placed.logs.topicId,
        stored_offset: String(decision.placement.committed),
      },
    );
  } else if (decision.kind === "gap") {
    logGap(state, {
      ...fields,
      from_offset: decision.placement.gap!.from,
      to_offset: decision.placement.gap!.to,
    });
  } else if (decision.kind === "new") {
    state.log.info("no stored offset: reading the partition from its first retained message", {
      ...fields,
      offset: String(decision.placement.position),
    });
  }
}

/** The log under a placed partition changed (behind, or a jump): find out how, and act. */
export async function reexamine(
  state: PipelineState,
  partition: number,
  observed: { kind: "behind"; position: string } | { kind: "jump"; from: string; to: string },
): Promise<void> {
  const { fence } = state;
  const logs = await retryWithBackoff(() => state.source!.describeTopic(), {
    clock: state.clock,
    signal: state.stopped.signal,
    retryable: () => true,
    onRetry: (error, info) =>
      state.log.warn("cannot read the topic's offsets; retrying", { ...info, error }),
  });
  if (!logs || !isPlaced(fence, partition)) return;
  if (isOtherTopic(fence.topicId, logs.topicId)) {
    await topicReplaced(state, { topicId: logs.topicId!, inFlightEvents: 0 });
    return;
  }
  const partitionLog = logs.partitions.get(partition);
  if (observed.kind === "behind") {
    const position = BigInt(observed.position);
    if (partitionLog && position > partitionLog.highWatermark) {
      failPipeline(
        state,
        truncatedError(state.config, partition, {
          storedOffset: position,
          highWatermark: partitionLog.highWatermark,
        }),
      );
      return;
    }
    // A replay of old messages after our seek, yet the log holds our position: ask again.
    await state.clock.sleep(1_000, state.stopped.signal);
    state.source?.seek(partition, observed.position);
    return;
  }
  const from = BigInt(observed.from);
  const to = BigInt(observed.to);
  const logStart = partitionLog?.logStart ?? from;
  const removedTo = logStart > from ? (logStart < to ? logStart : to) : from;
  if (removedTo > from) {
    recordGap(fence, partition, { from: observed.from, to: removedTo.toString() });
    admitRangeOnly(state.core, state.clock.now());
    logGap(state, {
      topic: state.config.topic,
      partition,
      from_offset: observed.from,
      to_offset: removedTo.toString(),
    });
  }
  // The rest are offsets that never held a message for us (compaction, transaction markers).
  skipTo(fence, partition, to);
}

/** The topic now has another id: what was read from the old one cannot be committed as its. */
export async function topicReplaced(
  state: PipelineState,
  replaced: { topicId: string; inFlightEvents: number },
): Promise<void> {
  const held = forgetReplacedTopic(state, replaced);
  await place(state, held);
}

/**
 * Says the topic was replaced, drops what was read from the old one and remembers where each
 * partition stood in it, for `recordLostWithOldTopic`; returns the partitions that were placed.
 */
function forgetReplacedTopic(
  state: PipelineState,
  replaced: { topicId: string; inFlightEvents: number },
): number[] {
  const { fence } = state;
  const held = positions(fence);
  state.log.warn(
    "the topic was deleted and created again while it was read: what was read and not yet " +
      "committed is gone with the old topic; reading the new topic from its start",
    {
      topic: state.config.topic,
      old_topic_id: fence.topicId,
      topic_id: replaced.topicId,
      discarded_events: state.core.bufferedEvents + replaced.inFlightEvents,
    },
  );
  for (const [partition, position] of held) {
    state.lostWithOldTopic.set(partition, { position, topicId: fence.topicId });
  }
  discardEverything(state, replaced.inFlightEvents);
  return [...held.keys()];
}

/**
 * Records, as a gap of the old topic, what it held beyond the stored offset of each partition
 * placed now whose stored offset is still the old topic's (those messages are gone with it).
 */
function recordLostWithOldTopic(
  state: PipelineState,
  placed: { placements: ReadonlyMap<number, Placement>; stored: ReadonlyMap<number, StoredOffset> },
): void {
  for (const [partition, placement] of placed.placements) {
    const lost = state.lostWithOldTopic.get(partition);
    if (!lost) continue;
    state.lostWithOldTopic.delete(partition);
    const progress = state.fence.partitions.get(partition);
    const storedTopicId = placed.stored.get(partition)?.topicId;
    if (
      !progress || placement.committed === null || storedTopicId !== lost.topicId ||
      lost.position <= placement.committed
    ) continue;
    progress.gaps.push({
      from: placement.committed.toString(),
      to: lost.position.toString(),
      topicId: lost.topicId,
    });
    // Committed with the next flush even if the new topic holds no message yet.
    progress.buffered = true;
  }
}

function logGap(state: PipelineState, fields: Record<string, string | number>): void {
  state.log.warn(
    "messages were removed by retention before this group read them: counted as lost " +
      "(consumer_offset_gaps)",
    fields,
  );
}

/** Whether a topic id read now differs from the one the placed partitions were read from. */
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
