/**
 * A controlled shutdown (SIGTERM) and a rolling restart of a real
 * three-broker cluster under load. The producer CLI publishes at a fixed rate
 * and two consumer CLIs count while each broker in turn, the one leading the
 * busiest partitions first, is stopped with SIGTERM (it hands its
 * leaderships over before it exits), started again on its data, and waited
 * for until every replica is back in sync. Neither program is restarted;
 * nothing may be lost or doubled.
 */
import assert from "node:assert/strict";
import { brokerLogNotes, startOwnCluster } from "../testing/kafka_cluster.ts";
import { createTestDatabase, printFigures, waitUntil } from "../testing/mod.ts";
import { loadFigures, startClusterLoad } from "../testing/cluster_load.ts";
import { busiestLeader, waitForFullIsr, waitForLeadersOff } from "../testing/cluster_state.ts";
import { longestStall } from "../testing/progress_stall.ts";

const RATE = 2_000;
/** More than the restarts take: the producer is stopped once the last broker is back. */
const MOST_EVENTS = 1_000_000;

Deno.test("a controlled shutdown and a rolling restart of all three brokers under load lose nothing and double nothing, with no program restarted", async () => {
  const started = performance.now();
  await using cluster = await startOwnCluster();
  await using db = await createTestDatabase("cluster_rolling");
  await using load = startClusterLoad({
    brokers: cluster.brokers,
    db,
    events: MOST_EVENTS,
    rate: RATE,
    seed: 1617,
    label: "cluster_rolling",
  });
  const { kafka, topic } = load;
  const steps: {
    node: number;
    shutdownMs: number;
    publishStallMs: number;
    countStallMs: number;
    isrMs: number;
  }[] = [];
  let figures: Record<string, number | string>;
  try {
    await load.reachCommitted(6_000);
    await waitUntil("both consumers hold partitions", async () => {
      return (await load.assignedPerConsumer()).every((n) => n > 0);
    });
    const first = (await busiestLeader(kafka, topic)).nodeId;
    const order = [first, ...cluster.nodes.map((node) => node.nodeId).filter((id) => id !== first)];
    const topics = [topic, `${topic}.dlq`, "__consumer_offsets"];
    for (const node of order) {
      const stoppingAt = performance.now();
      await cluster.stop(node);
      const stoppedAt = performance.now();
      assert.ok(stoppedAt - stoppingAt < 55_000, `node ${node} needed SIGKILL to stop`);
      // Within 2 s, well before the 4 s after which a silent broker is fenced: the shutdown handed
      // its leaderships over itself.
      await waitForLeadersOff(kafka, topic, node, { timeoutMs: 2_000 });
      await cluster.start(node);
      const isrMs = await waitForFullIsr(kafka, topics, 3, { timeoutMs: 120_000 });
      // Some load after each step, so the next step starts from a running stream, and the
      // stalls measured below have ended (publishing and counting both moved on).
      const before = { published: load.published.latest(), committed: load.committed.latest() };
      await waitUntil(
        "publishing goes on",
        () => Promise.resolve(load.published.latest() >= before.published + RATE),
        { timeoutMs: 60_000 },
      );
      await waitUntil(
        "counting goes on",
        () => Promise.resolve(load.committed.latest() >= before.committed + RATE),
        { timeoutMs: 60_000 },
      );
      const window = { fromMs: stoppingAt, toMs: performance.now() };
      steps.push({
        node,
        shutdownMs: Math.round(stoppedAt - stoppingAt),
        publishStallMs: Math.round(longestStall(load.published.samples, window).ms),
        countStallMs: Math.round(longestStall(load.committed.samples, window).ms),
        isrMs,
      });
    }
    const result = await load.finish({ stopProducer: true });
    figures = {
      order: order.join("/"),
      sigterm_to_exit_ms: steps.map((step) => step.shutdownMs).join("/"),
      publish_stall_ms: steps.map((step) => step.publishStallMs).join("/"),
      count_stall_ms: steps.map((step) => step.countStallMs).join("/"),
      isr_3_after_start_ms: steps.map((step) => step.isrMs).join("/"),
      ...loadFigures(result),
    };
  } catch (error) {
    throw await load.explain(error, await brokerLogNotes(cluster));
  }
  printFigures("cluster_rolling_restart", {
    ...figures,
    seconds: (performance.now() - started) / 1000,
  });
});
