/**
 * How many copies of a topic the programs create, and how many must hold a
 * write before it is acknowledged: the two topic settings both programs share,
 * and the pure rule that turns them into numbers for a cluster of a given
 * size. `auto` gives replication factor min(3, brokers) and
 * min.insync.replicas min(2, brokers): one broker keeps today's single copy,
 * three brokers survive the loss of any one with every acknowledged write on
 * two disks.
 */
import { z } from "zod";
import { parsers, type Setting, setting } from "./config.ts";

/** A requested count: a number, or `auto` to follow the cluster's size. */
export type ReplicaCount = number | "auto";

/** What a topic should be created with. */
export interface ReplicationRequest {
  readonly replicationFactor: ReplicaCount;
  readonly minInsyncReplicas: ReplicaCount;
}

/** Both settings `auto`: min(3, brokers) copies, min(2, brokers) in sync. */
export const AUTO_REPLICATION: ReplicationRequest = {
  replicationFactor: "auto",
  minInsyncReplicas: "auto",
};

/** The replication a topic gets on a particular cluster. */
export interface TopicReplication {
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/** The requested replication cannot be had on this cluster. */
export class ReplicationError extends Error {
  /** Trying again cannot help: the settings or the cluster must change (KafkaJS's convention). */
  readonly retriable = false;
  /** Creates the error with a complete message. */
  constructor(message: string) {
    super(message);
    this.name = "ReplicationError";
  }
}

/** The most copies `auto` asks for. */
export const AUTO_MAX_REPLICATION_FACTOR = 3;
/** The most in-sync replicas `auto` asks for. */
export const AUTO_MAX_MIN_INSYNC_REPLICAS = 2;

/**
 * The replication for a topic created on a cluster of `brokers` live brokers.
 * Throws `ReplicationError` when the request cannot work there: more copies
 * than brokers, or more in-sync replicas than copies (every acknowledged write
 * would then fail with NOT_ENOUGH_REPLICAS).
 */
export function replicationFor(brokers: number, request: ReplicationRequest): TopicReplication {
  if (!Number.isInteger(brokers) || brokers < 1) {
    throw new ReplicationError(`Cannot create topics: the cluster reports ${brokers} brokers`);
  }
  const replicationFactor = resolved(request.replicationFactor, AUTO_MAX_REPLICATION_FACTOR, {
    flag: "--replication-factor",
    limit: brokers,
    why: `the cluster has ${plural(brokers, "live broker")}`,
  });
  const minInsyncReplicas = resolved(request.minInsyncReplicas, AUTO_MAX_MIN_INSYNC_REPLICAS, {
    flag: "--min-insync-replicas",
    limit: replicationFactor,
    why: `topics get ${plural(replicationFactor, "replica")}: every write would fail`,
  });
  return { replicationFactor, minInsyncReplicas };
}

/** `auto` as min(`autoMax`, limit), a number as itself if it is within `limit`. */
function resolved(
  count: ReplicaCount,
  autoMax: number,
  bound: { flag: string; limit: number; why: string },
): number {
  if (count === "auto") return Math.min(autoMax, bound.limit);
  if (count > bound.limit) {
    throw new ReplicationError(
      `Cannot create topics: "${bound.flag}" is ${count} but ${bound.why}; it must be at most ` +
        `${bound.limit} or "auto"`,
    );
  }
  return count;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Why an existing topic is less safe than a new one would be, or undefined if it is not. */
export function replicationShortfall(
  existing: { readonly replicationFactor: number; readonly minInsyncReplicas?: number },
  wanted: TopicReplication,
): string | undefined {
  if (existing.replicationFactor < wanted.replicationFactor) {
    return `it has ${existing.replicationFactor} replica(s) where new topics get ` +
      `${wanted.replicationFactor}: losing one broker can lose acknowledged events`;
  }
  if (
    existing.minInsyncReplicas !== undefined &&
    existing.minInsyncReplicas < wanted.minInsyncReplicas
  ) {
    return `its min.insync.replicas is ${existing.minInsyncReplicas} where new topics get ` +
      `${wanted.minInsyncReplicas}: an acknowledged write may be on one disk only`;
  }
  return undefined;
}

const replicaCount = (max: number): z.ZodType<ReplicaCount, string> =>
  z.union([z.literal("auto"), parsers.integer(1, max)]);

/** The topic replication settings of both programs (they create topics). */
export const replicationSettings: {
  readonly replicationFactor: Setting<ReplicaCount>;
  readonly minInsyncReplicas: Setting<ReplicaCount>;
} = {
  replicationFactor: setting({
    flag: "replication-factor",
    env: "KAFKA_REPLICATION_FACTOR",
    fallback: "auto",
    help: "Copies of each partition of the topics this program creates (existing topics keep " +
      'theirs); "auto" = min(3, live brokers).',
    allowed: '"auto" or a whole number from 1 to 32 (at most the live brokers)',
    schema: replicaCount(32),
  }),
  minInsyncReplicas: setting({
    flag: "min-insync-replicas",
    env: "KAFKA_MIN_INSYNC_REPLICAS",
    fallback: "auto",
    help: "min.insync.replicas of the topics this program creates: replicas that must hold a " +
      'write before it is acknowledged; "auto" = min(2, replication factor).',
    allowed: '"auto" or a whole number from 1 to 32 (at most the replication factor)',
    schema: replicaCount(32),
  }),
};
