/**
 * One consumer group per topic and database: an operator who renames
 * `CONSUMER_GROUP` (or deploys blue/green with a new group) against the same
 * database must not count every event again. Real broker, PostgreSQL and CLI.
 */
import assert from "node:assert/strict";
import {
  acceptedEvents,
  assertCountsExact,
  eventMessages,
  exitWithin,
  explained,
  logLines,
  printFigures,
  publishRaw,
  seededEvents,
  startConsumerRun,
  uniqueName,
  waitUntil,
} from "../testing/mod.ts";

Deno.test("a second consumer group on the same database refuses to start, and an explicit take-over moves the offsets without counting twice", async () => {
  await using run = await startConsumerRun({ name: "owner", partitions: 3 });
  const first = seededEvents({ count: 600, seed: 61 });
  await publishRaw(run.kafka, run.topic, eventMessages(first));
  await run.reach(600);
  const renamed = uniqueName("owner_renamed");

  // A renamed group, while the first one runs: refused, naming the owner and the way out.
  const refused = await exitWithin(run.spawn({ group: renamed }), 60_000);
  assert.equal(refused.code, 2);
  const message = logLines(refused.stderr).map((line) => String(line.msg)).join("\n");
  assert.match(message, new RegExp(`counted into this database by consumer group "${run.group}"`));
  assert.match(message, new RegExp(`--take-over-from ${run.group}`));

  // The handover: stop the old group, start the new one with --take-over-from.
  run.consumer.kill("SIGTERM");
  assert.equal((await run.consumer.finished).code, 0);
  const second = seededEvents({ count: 400, seed: 62 });
  await publishRaw(run.kafka, run.topic, eventMessages(second));
  const successor = run.spawn({
    group: renamed,
    "take-over-from": run.group,
    "log-level": "info",
  });
  await explained(
    successor,
    waitUntil("the next 400 are counted", async () => await acceptedEvents(run.db.sql) >= 1_000),
  );
  successor.kill("SIGTERM");
  const done = await successor.finished;
  assert.equal(done.code, 0, done.stderr.slice(-2_000));
  const compared = await assertCountsExact(run.db.sql, [...first, ...second]);
  const tookOver = logLines(done.stderr).find((line) =>
    String(line.msg).startsWith("took the topic over")
  );
  assert.equal(tookOver?.moved_offsets, 3);
  const owners = await run.db.sql`SELECT consumer_group FROM topic_owners`;
  assert.deepEqual(owners.map((row) => row.consumer_group), [renamed]);
  const groups = await run.db.sql`SELECT DISTINCT consumer_group FROM consumer_offsets`;
  assert.deepEqual(groups.map((row) => row.consumer_group), [renamed]);

  // The old group, started again by mistake, now refuses in turn.
  const again = await exitWithin(run.spawn(), 60_000);
  assert.equal(again.code, 2);
  printFigures("group_ownership", {
    refused_exit: refused.code,
    offsets_moved: Number(tookOver?.moved_offsets),
    events_compared: compared.events,
  });
});
