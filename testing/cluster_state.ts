/**
 * What a test cluster looks like from a client: which broker leads the
 * busiest partitions, and waiting until a broker leads none of them or until
 * every replica is back in sync.
 */
import type { Kafka } from "kafkajs";
import { type PartitionReplicas, partitionReplicas, topicEndOffsets } from "@activity/shared/kafka";
import { waitUntil } from "./pipeline_events.ts";

/** The broker leading the most messages of a topic, and what it leads. */
export interface LeaderLoad {
  readonly nodeId: number;
  readonly partitions: readonly number[];
  readonly messages: number;
}

/** Per leader: the partitions it leads and their messages, busiest first (pure). */
function leaderLoads(
  partitions: readonly PartitionReplicas[],
  ends: ReadonlyMap<number, bigint>,
): LeaderLoad[] {
  const byLeader = new Map<number, { partitions: number[]; messages: number }>();
  for (const partition of partitions) {
    if (partition.leader < 0) continue;
    const load = byLeader.get(partition.leader) ?? { partitions: [], messages: 0 };
    load.partitions.push(partition.partition);
    load.messages += Number(ends.get(partition.partition) ?? 0n);
    byLeader.set(partition.leader, load);
  }
  return [...byLeader].map(([nodeId, load]) => ({ nodeId, ...load }))
    .sort((a, b) => b.messages - a.messages || a.nodeId - b.nodeId);
}

/** The broker that leads the most messages of `topic` now. */
export async function busiestLeader(kafka: Kafka, topic: string): Promise<LeaderLoad> {
  const [partitions, ends] = await Promise.all([
    partitionReplicas(kafka, topic),
    topicEndOffsets(kafka, topic),
  ]);
  const [busiest] = leaderLoads(partitions, ends);
  if (!busiest) throw new Error(`no partition of ${topic} has a leader`);
  return busiest;
}

/**
 * Waits until every partition of `topic` has a leader and none is led by `nodeId`. Metadata
 * can be briefly unavailable while leaders move: it is read again. On timeout the error says
 * who led what when last read.
 */
export async function waitForLeadersOff(
  kafka: Kafka,
  topic: string,
  nodeId: number,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  let seen = "(not read yet)";
  try {
    await waitUntil(`node ${nodeId} leads no partition of ${topic}`, async () => {
      const partitions = await partitionReplicas(kafka, topic).catch((error) => {
        seen = String(error);
        return [];
      });
      if (partitions.length > 0) {
        seen = partitions.map((partition) => `${partition.partition}:${partition.leader}`).join(
          " ",
        );
      }
      return partitions.length > 0 &&
        partitions.every((partition) => partition.leader >= 0 && partition.leader !== nodeId);
    }, { timeoutMs: options.timeoutMs ?? 60_000 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; partition:leader ${seen}`, { cause: error });
  }
}

/** Partitions of `topics` whose in-sync replicas are fewer than `replicas` (or that lack a leader). */
async function underReplicated(
  kafka: Kafka,
  topics: readonly string[],
  replicas: number,
): Promise<string[]> {
  const short: string[] = [];
  for (const topic of topics) {
    for (const partition of await partitionReplicas(kafka, topic)) {
      if (partition.leader < 0 || partition.isr.length < replicas) {
        short.push(`${topic}/${partition.partition} isr=[${partition.isr.join(",")}]`);
      }
    }
  }
  return short;
}

/** Waits until every partition of `topics` has `replicas` in-sync replicas; returns the wait in ms. */
export async function waitForFullIsr(
  kafka: Kafka,
  topics: readonly string[],
  replicas: number,
  options: { timeoutMs?: number } = {},
): Promise<number> {
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? 90_000);
  let short: string[] = ["(not read yet)"];
  while (performance.now() < deadline) {
    // Metadata can be briefly unavailable while leaders move: try again.
    short = await underReplicated(kafka, topics, replicas).catch((error) => [String(error)]);
    if (short.length === 0) return Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`in-sync replicas did not return to ${replicas}: ${short.join("; ")}`);
}
