/**
 * What a test cluster looks like from a client: which broker leads the
 * busiest partitions, and waiting until every replica is back in sync.
 */
import type { Kafka } from "kafkajs";
import { type PartitionReplicas, partitionReplicas, topicEndOffsets } from "@activity/shared/kafka";

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
