import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { loadMigrations, migrate, MIGRATIONS_DIRECTORY } from "../consumer/mod.ts";
import { createTestDatabase } from "../testing/services.ts";

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
