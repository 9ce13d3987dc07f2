import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import postgres from "postgres";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { loadMigrations, migrate, MIGRATIONS_DIRECTORY } from "../consumer/mod.ts";
import {
  createTestDatabase,
  databaseUrlWithName,
  testServices,
  uniqueName,
} from "../testing/services.ts";
import {
  committedMessages,
  countDifferences,
  eventMessages,
  expectedCounts,
  publishRaw,
  seededEvents,
  storedCounts,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { startTestConsumer, testConsumerConfig } from "../testing/consumer_fixture.ts";

Deno.test("the migrations are found beside the consumer module, in order, whatever the working directory", async () => {
  assert.equal(MIGRATIONS_DIRECTORY.href, new URL("../sql/", import.meta.url).href);
  const migrations = await loadMigrations();
  const names = migrations.map((migration) => migration.name);
  assert.deepEqual(names, [...names].sort());
  assert.equal(names[0], "0001_activity_schema.sql");
  assert.ok(names.includes("0003_consumer_state.sql"));
  assert.ok(migrations.every((migration) => /^[0-9a-f]{64}$/.test(migration.checksum)));

  // `deno task migrate` run from another directory, with only the sql/ folder readable: the
  // lookup is relative to the module, as in a `deno compile --include sql` binary.
  await using db = await createTestDatabase("consumer_migrate_cli");
  const sqlDir = fileURLToPath(new URL("../sql/", import.meta.url));
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--allow-read=${sqlDir}`,
      "--allow-env=PG*,DATABASE_URL,LOG_FORMAT",
      fileURLToPath(new URL("../consumer/migrate_main.ts", import.meta.url)),
      "--database-url",
      db.url,
    ],
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  const rows = await db.sql`SELECT name FROM schema_migrations ORDER BY version`;
  assert.deepEqual(rows.map((row) => row.name), names);
});

Deno.test("five consumers migrating one database at once apply each migration exactly once", async () => {
  await using db = await createTestDatabase("consumer_migrate_race");
  const reports = await Promise.all(Array.from({ length: 5 }, () => migrate(db.url)));
  const names = (await loadMigrations()).map((migration) => migration.name);
  assert.deepEqual(reports.flatMap((report) => report.applied).sort(), names);
  assert.equal(reports.filter((report) => report.applied.length > 0).length, 1);
  const again = await migrate(db.url);
  assert.deepEqual(again, { applied: [], alreadyApplied: names });
  const [row] = await db.sql`SELECT count(*)::int AS n FROM schema_migrations`;
  assert.equal(row.n, names.length);
});

Deno.test("the consumer works as a non-superuser role that owns its database", async () => {
  const { brokers, databaseUrl } = await testServices();
  const role = uniqueName("consumer_role");
  const database = uniqueName("consumer_owned");
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  await admin.unsafe(`CREATE DATABASE "${database}" OWNER "${role}"`);
  const url = new URL(databaseUrlWithName(databaseUrl, database));
  url.username = role;
  url.password = "";
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const [who] = await sql`SELECT current_user AS name, usesuper FROM pg_user
      WHERE usename = current_user`;
    assert.deepEqual({ ...who }, { name: role, usesuper: false });
    const topic = uniqueName("owned");
    const group = uniqueName("owned_group");
    const kafka = createKafka({ brokers, clientId: "consumer-role-test" });
    await ensureTopics(kafka, [{ topic, partitions: 2 }]);
    const events = seededEvents({ count: 5_000, seed: 8 });
    await publishRaw(kafka, topic, eventMessages(events));
    const consumer = startTestConsumer(testConsumerConfig({
      brokers: brokers.join(","),
      topic,
      group,
      "database-url": url.toString(),
      "dlq-topic": `${topic}.dlq`,
    }));
    try {
      await waitUntil(
        "every message is committed",
        async () => await committedMessages(sql, group, topic) >= events.length,
      );
    } finally {
      await consumer.stop();
    }
    const stored = await storedCounts(sql);
    assert.deepEqual(countDifferences(expectedCounts(events).summary, stored.summary), []);
    const [owner] =
      await sql`SELECT tableowner FROM pg_tables WHERE tablename = 'user_event_summary'`;
    assert.equal(owner.tableowner, role);
  } finally {
    await sql.end();
    await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`);
    await admin.end();
  }
});
