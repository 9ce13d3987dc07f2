/**
 * Leader failover on a real three-broker cluster. The producer CLI
 * publishes at a fixed rate and two consumer CLIs count; the broker leading
 * the busiest partitions is killed (SIGKILL: its broker and controller die at
 * once) mid-stream. Neither program is restarted. Every event the producer
 * reports sent must be on the topic once and counted once; the stalls of
 * publishing and of counting are measured; the broker is then restarted and
 * every partition's in-sync replicas must be back to three.
 */
import assert from "node:assert/strict";
import { partitionReplicas } from "@activity/shared/kafka";
import { brokerLogNotes, startOwnCluster } from "../testing/kafka_cluster.ts";
import { createTestDatabase, printFigures, waitUntil } from "../testing/mod.ts";
import { loadFigures, startClusterLoad } from "../testing/cluster_load.ts";
import { busiestLeader, waitForFullIsr, waitForLeadersOff } from "../testing/cluster_state.ts";
import { longestStall, normalLongestGap } from "../testing/progress_stall.ts";

const EVENTS = 60_000;
const RATE = 2_000;

Deno.test("the broker leading the busiest partitions is killed mid-stream: publishing and counting resume by themselves, every event sent is counted once, and its replicas catch up after a restart", async () => {
  const started = performance.now();
  await using cluster = await startOwnCluster();
  await using db = await createTestDatabase("cluster_failover");
  await using load = startClusterLoad({
    brokers: cluster.brokers,
    db,
    events: EVENTS,
    rate: RATE,
    seed: 1616,
    label: "cluster_failover",
  });
  const { kafka, topic } = load;
  let figures: Record<string, number | string>;
  let leadersMoved: Promise<number> | undefined;
  try {
    await load.reachCommitted(10_000);
    await waitUntil("both consumers hold partitions", async () => {
      const assigned = await load.assignedPerConsumer();
      return assigned.every((n) => n > 0);
    });
    const replicas = await partitionReplicas(kafka, topic);
    assert.ok(replicas.every((p) => p.replicas.length === 3), "the producer created 3 replicas");
    const victim = await busiestLeader(kafka, topic);
    const killedAt = performance.now();
    await cluster.kill(victim.nodeId);
    const before = { published: load.published.latest(), committed: load.committed.latest() };
    leadersMoved = waitForLeadersOff(kafka, topic, victim.nodeId, { timeoutMs: 60_000 })
      .then(() => Math.round(performance.now() - killedAt));
    // Awaited for the figures; should a step before them fail, its rejection is handled here.
    leadersMoved.catch(() => {});
    // Recovered: both counters well past where they stood when the broker died.
    await waitUntil(
      "publishing resumes",
      () => Promise.resolve(load.published.latest() >= before.published + 2 * RATE),
      { timeoutMs: 90_000 },
    );
    await waitUntil(
      "counting resumes past everything published before the kill",
      () => Promise.resolve(load.committed.latest() >= before.published + RATE),
      { timeoutMs: 90_000 },
    );
    const recoveredAt = performance.now();
    const moved = await partitionReplicas(kafka, topic);
    assert.ok(
      moved.every((p) => p.leader !== victim.nodeId && p.leader >= 0),
      "every partition has a live leader",
    );
    const publishStall = longestStall(load.published.samples, {
      fromMs: killedAt,
      toMs: recoveredAt,
    });
    const countStall = longestStall(load.committed.samples, {
      fromMs: killedAt,
      toMs: recoveredAt,
    });
    const baseline = normalLongestGap(load.published.samples, killedAt);
    const restartAt = performance.now();
    await cluster.start(victim.nodeId);
    const topics = [topic, `${topic}.dlq`, "__consumer_offsets"];
    const isrMs = await waitForFullIsr(kafka, topics, 3, { timeoutMs: 120_000 });
    const isrBackMs = Math.round(performance.now() - restartAt);
    const result = await load.finish();
    figures = {
      killed_node: victim.nodeId,
      partitions_it_led: victim.partitions.join("/"),
      publish_stall_ms: Math.round(publishStall.ms),
      count_stall_ms: Math.round(countStall.ms),
      normal_longest_publish_gap_ms: Math.round(baseline.ms),
      kill_to_new_leaders_ms: await leadersMoved,
      kill_to_recovered_ms: Math.round(recoveredAt - killedAt),
      restart_to_isr_3_ms: isrBackMs,
      isr_wait_after_start_ms: isrMs,
      ...loadFigures(result),
    };
  } catch (error) {
    // Its wait is bounded: let it end, so that none of its timers outlives the test.
    await leadersMoved?.catch(() => {});
    throw await load.explain(error, await brokerLogNotes(cluster));
  }
  printFigures("cluster_failover", {
    ...figures,
    seconds: (performance.now() - started) / 1000,
  });
});
