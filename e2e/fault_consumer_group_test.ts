/**
 * Members joining, leaving and dying in one consumer group: up to three
 * consumer CLIs while the producer CLI publishes; members leave (SIGTERM), are
 * killed (SIGKILL) and join mid-stream, and each does some of the work before
 * it goes (else the group would only be one consumer with spectators). The
 * counts are then compared with counts computed from the topic read back.
 */
import assert from "node:assert/strict";
import type { ConsumerProcess } from "../testing/consumer_fixture.ts";
import {
  assertCountsExact,
  createConsumerScene,
  eventsOf,
  explained,
  freePort,
  metricSum,
  printFigures,
  readTopicBack,
  scrapeMetrics,
  summaryOf,
  topicMessageCount,
  waitUntil,
} from "../testing/mod.ts";

const EVENTS = 100_000;

/**
 * Group changes when the group has committed so many events: "+a" joins a, "-a" makes it
 * leave (SIGTERM), "×a" kills it (SIGKILL); at most three members at a time.
 */
const PLAN: readonly [number, ...string[]][] = [
  [0, "+a", "+b", "+c"],
  [10_000, "-b"],
  [25_000, "×c", "+d"],
  [45_000, "+b2", "-a"],
  [65_000, "×d", "+e"],
  [80_000, "+f"],
];

interface Member {
  readonly process: ConsumerProcess;
  readonly metricsPort: number;
}

Deno.test("three consumers in one group, members leaving, being killed and joining mid-stream, each doing some of the work, count every event exactly once", async () => {
  const started = performance.now();
  await using scene = await createConsumerScene({ name: "fault_group", partitions: 6 });
  // Publishes until stopped, so the last member to join gets some of the stream too.
  const producer = scene.startProducer({ rate: 4000, seed: 77, "progress-interval": "2s" });
  const members = new Map<string, Member>();
  const counts = { joins: 0, leaves: 0, kills: 0 };
  let mostMembers = 0;
  // Events each member reported committed (its metrics), the last time it was asked.
  const committedBy = new Map<string, number>();
  const report = async (name: string) => {
    const metrics = await scrapeMetrics(members.get(name)!.metricsPort);
    if (metrics === undefined) return;
    committedBy.set(name, metricSum(metrics, "activity_consumer_events_accepted_total"));
  };
  const join = (name: string) => {
    const metricsPort = freePort();
    members.set(name, { process: scene.spawn({ "metrics-port": metricsPort }), metricsPort });
    counts.joins++;
    mostMembers = Math.max(mostMembers, members.size);
  };
  // Events a member committed itself: it held partitions and counted some of the stream.
  const worked = async (name: string) => {
    await explained(
      members.get(name)!.process,
      waitUntil(`${name} commits events of its own`, async () => {
        await report(name);
        return (committedBy.get(name) ?? 0) > 0;
      }, { timeoutMs: 60_000 }),
    );
  };
  // SIGTERM: it leaves the group cleanly; SIGKILL: it dies, and the group waits out its session.
  const remove = async (name: string, signal: "SIGTERM" | "SIGKILL") => {
    const { process } = members.get(name)!;
    await report(name); // its last report: what it commits after it is not counted
    members.delete(name);
    process.kill(signal);
    const { code, signal: endedBy, stderr } = await process.finished;
    const log = stderr.slice(-2_000);
    if (signal === "SIGTERM") assert.equal(code, 0, `${name} did not leave cleanly:\n${log}`);
    else assert.equal(endedBy, "SIGKILL", `${name} exited by itself:\n${log}`);
    counts[signal === "SIGTERM" ? "leaves" : "kills"]++;
  };
  const reach = (n: number) => scene.reach(n, { timeoutMs: 90_000 });

  let producerRun;
  let midStream = { ...counts };
  try {
    await producer.waitFor((line) => line.msg === "publishing");
    for (const [committed, ...changes] of PLAN) {
      await reach(committed);
      for (const change of changes) {
        const name = change.slice(1);
        if (change[0] === "+") join(name);
        else {
          await worked(name);
          await remove(name, change[0] === "-" ? "SIGTERM" : "SIGKILL");
        }
      }
    }
    for (const name of members.keys()) await worked(name);
    await waitUntil(`${EVENTS} events are published`, async () => {
      return await topicMessageCount(scene.kafka, scene.topic) >= EVENTS;
    }, { timeoutMs: 90_000 });
    producerRun = await producer.stop("SIGTERM");
    midStream = { ...counts };
    await reach(await topicMessageCount(scene.kafka, scene.topic));
    for (const name of [...members.keys()]) await remove(name, "SIGTERM");
  } finally {
    for (const member of members.values()) await member.process[Symbol.asyncDispose]();
    await producer.stop("SIGKILL");
  }
  assert.equal(producerRun.code, 0, producerRun.stderr.slice(-2_000));
  console.log("committed by each member", Object.fromEntries(committedBy));

  const messages = await readTopicBack(scene.brokers, scene.topic);
  // Events committed by two members (a refused flush reported as committed, a partition two
  // members counted at once) would add up to more than there are.
  const claimed = [...committedBy.values()].reduce((sum, n) => sum + n, 0);
  assert.ok(
    claimed <= messages.length,
    `the members report ${claimed} events committed; the topic holds ${messages.length}`,
  );
  assert.equal(summaryOf(producerRun).sent, messages.length, "the producer's count and the topic");
  assert.ok(messages.length >= EVENTS, `only ${messages.length} events were published`);
  const compared = await assertCountsExact(scene.db.sql, eventsOf(messages));
  assert.equal(await scene.committed(), messages.length);
  printFigures("fault_consumer_group", {
    members_at_most: mostMembers,
    joins: midStream.joins,
    leaves_mid_stream: midStream.leaves,
    kills_mid_stream: midStream.kills,
    events: messages.length,
    reported_by_members_at_least: claimed,
    events_compared: compared.events,
    rows_compared: compared.rows,
    lost: 0,
    doubled: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
