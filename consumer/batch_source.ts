/**
 * What the pipeline needs from a Kafka client, and nothing of any client: batches with their
 * controls, partition assignments, seeks, the topic's log, dead letters and the informational
 * group offsets. `kafka_source.ts` provides it with KafkaJS; the pipeline and its tests see only
 * this.
 */
import type { Clock, Logger, ReplicationRequest } from "@activity/shared";
import type { Rejection, SourceMessage } from "./aggregate.ts";
import type { DeadLetterOutcome } from "./dead_letters.ts";
import type { PartitionLog } from "./partition_placement.ts";

/** A fetched batch with the controls the handler may use. */
export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly SourceMessage[];
  readonly highWatermark: string;
  /** Keeps the group membership alive during long waits; throws when a rebalance began. */
  heartbeat(): Promise<void>;
  /** False once the source is stopping. */
  isRunning(): boolean;
  /** True when a seek made this batch obsolete. */
  isStale(): boolean;
  /** Tells the client the batch was taken up to `offset`, so it fetches on from there. */
  resolveOffset(offset: string): void;
}

/** What the source calls back. */
export interface SourceHandlers {
  onBatch(batch: IncomingBatch): Promise<void>;
  /** A group join finished; these partitions of the topic are now ours. */
  onAssignment(partitions: readonly number[]): void;
  /** The client gave up and will not restart by itself. */
  onFatal(error: Error): void;
  /** Why the source cannot consume yet (null once it can): shown by `/readyz`. */
  onBlocked(reason: string | null): void;
  /** The client showed a sign of life: a fetch began, a heartbeat, a group join, a restart. */
  onActivity(): void;
}

/** How to reach and consume the topic. */
export interface SourceOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly group: string;
  readonly dlqTopic: string;
  /** Replication of the dead-letter topic if it has to be created. */
  readonly replication: ReplicationRequest;
  readonly sessionTimeoutMs: number;
  readonly log: Logger;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /** How long the last group-offset commit is waited for when closing. */
  readonly closeCommitWaitMs: number;
  /** How long leaving the group and disconnecting every client may take when closing. */
  readonly closeDisconnectWaitMs: number;
}

/** The topic's identity and the bounds of each partition's log. */
export interface TopicLogs {
  /** Kafka's topic id (null: the broker is too old to tell). */
  readonly topicId: string | null;
  readonly partitions: ReadonlyMap<number, PartitionLog>;
}

/** A connected group member and dead-letter producer. */
export interface KafkaSource {
  /** Asks the client to fetch `partition` from `offset` next (ignored unless it is assigned). */
  seek(partition: number, offset: string): void;
  /** The topic's id and each partition's first and next offsets, as the brokers see them now. */
  describeTopic(): Promise<TopicLogs>;
  /** The topic's id now (null: the broker is too old to tell), without any partition's offsets. */
  topicId(): Promise<string | null>;
  /**
   * Publishes rejected messages to the dead-letter topic; resolves once all are acknowledged or
   * refused for good, with each one's outcome; rejects on errors worth retrying.
   */
  publishDeadLetters(rejections: readonly Rejection[]): Promise<DeadLetterOutcome[]>;
  /** Commits group offsets to Kafka for lag tooling; failures are ignored (never trusted). */
  commitGroupOffsets(offsets: readonly { partition: number; next: string }[]): void;
  /** Stops fetching (the current batch handler still finishes). */
  pause(): void;
  /** Leaves the group and disconnects everything. */
  close(): Promise<void>;
}
