/**
 * The compose PostgreSQL init script (docker/postgres/init.sh), run for real
 * against the test PostgreSQL with psql, followed by the consumer's real
 * migrations as the writer role. Role names are unique per test (roles are
 * cluster-wide); the migrations' grants name `grafana_reader`, so the copy
 * applied here names the test's reader instead.
 */
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import postgres from "postgres";
import { migrate } from "@activity/consumer";
import { REPO_ROOT } from "../tools/compile.ts";
import { COMPOSE_FACTS } from "../tools/compose_settings.ts";
import { databaseUrlWithName, testServices, uniqueName } from "../testing/services.ts";

interface InitRun {
  readonly database: string;
  readonly writer: string;
  readonly reader: string;
  readonly writerPassword: string;
  readonly readerPassword: string;
}

async function runInitScript(adminUrl: string, run: InitRun): Promise<string> {
  const admin = new URL(adminUrl);
  const result = await new Deno.Command("bash", {
    args: [`${REPO_ROOT}/docker/postgres/init.sh`],
    env: {
      PGHOST: admin.hostname,
      PGPORT: admin.port || "5432",
      PGPASSWORD: decodeURIComponent(admin.password),
      POSTGRES_USER: decodeURIComponent(admin.username) || "postgres",
      POSTGRES_DB: admin.pathname.slice(1) || "postgres",
      ACTIVITY_DATABASE: run.database,
      ACTIVITY_WRITER_USER: run.writer,
      GRAFANA_READER_USER: run.reader,
      ACTIVITY_WRITER_PASSWORD: run.writerPassword,
      GRAFANA_READER_PASSWORD: run.readerPassword,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  assert.equal(result.success, true, `init.sh failed:\n${output}`);
  return output;
}

/** The URL of `database` as `role` (the test server trusts local connections; the password is set anyway). */
function roleUrl(adminUrl: string, database: string, role: string, password: string): string {
  const url = new URL(databaseUrlWithName(adminUrl, database));
  url.username = role;
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** The repository's migrations with the reader's name replaced, in a temporary folder. */
async function migrationsFor(
  reader: string,
): Promise<{ directory: URL; remove: () => Promise<void> }> {
  const folder = await Deno.makeTempDir({ prefix: "migrations_" });
  for await (const entry of Deno.readDir(`${REPO_ROOT}/sql`)) {
    const text = await Deno.readTextFile(`${REPO_ROOT}/sql/${entry.name}`);
    await Deno.writeTextFile(
      `${folder}/${entry.name}`,
      text.replaceAll(COMPOSE_FACTS.readerRole, reader),
    );
  }
  return {
    directory: pathToFileURL(`${folder}/`),
    remove: () => Deno.remove(folder, { recursive: true }),
  };
}

async function cleanUp(adminUrl: string, run: InitRun): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${run.database}" WITH (FORCE)`);
    await admin.unsafe(`DROP ROLE IF EXISTS "${run.reader}"`);
    await admin.unsafe(`DROP ROLE IF EXISTS "${run.writer}"`);
  } finally {
    await admin.end();
  }
}

/** Whether a PostgreSQL `SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey` is `password`'s. */
async function scramVerifierMatches(verifier: string, password: string): Promise<boolean> {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  assert.ok(match, `not a SCRAM verifier: ${verifier.slice(0, 16)}...`);
  const bytes = (base64: string) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  const base64 = (buffer: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
  const subtle = crypto.subtle;
  const key = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = await subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: bytes(match[2]), iterations: Number(match[1]) },
    key,
    256,
  );
  const hmacKey = await subtle.importKey("raw", salted, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const sign = (text: string) => subtle.sign("HMAC", hmacKey, new TextEncoder().encode(text));
  const storedKey = await subtle.digest("SHA-256", await sign("Client Key"));
  return base64(storedKey) === match[3] && base64(await sign("Server Key")) === match[4];
}

function newRun(): InitRun {
  const name = uniqueName("init");
  return {
    database: name,
    writer: `${name}_writer`,
    reader: `${name}_reader`,
    // Quotes, spaces and dollars: psql must quote the passwords, not paste or expand them.
    writerPassword: `w'r "x $HOME $$1 ${crypto.randomUUID()}`,
    readerPassword: `r'd $PGHOST ${crypto.randomUUID()}`,
  };
}

Deno.test("the init script's writer owns the migrated tables and its reader can only read", async () => {
  const { databaseUrl } = await testServices();
  const run = newRun();
  const migrations = await migrationsFor(run.reader);
  try {
    await runInitScript(databaseUrl, run);
    const report = await migrate(
      roleUrl(databaseUrl, run.database, run.writer, run.writerPassword),
      { directory: migrations.directory },
    );
    assert.ok(report.applied.length >= 1);

    const admin = postgres(databaseUrlWithName(databaseUrl, run.database), { max: 1 });
    try {
      const roles = await admin`SELECT rolname, rolsuper, rolcreatedb, rolcreaterole,
          rolpassword IS NOT NULL AS has_password
        FROM pg_authid WHERE rolname IN (${run.writer}, ${run.reader}) ORDER BY rolname`;
      assert.deepEqual(
        roles.map((row) => ({ ...row })).sort((a, b) => a.rolname < b.rolname ? -1 : 1),
        [
          {
            rolname: run.reader,
            rolsuper: false,
            rolcreatedb: false,
            rolcreaterole: false,
            has_password: true,
          },
          {
            rolname: run.writer,
            rolsuper: false,
            rolcreatedb: false,
            rolcreaterole: false,
            has_password: true,
          },
        ].sort((a, b) => a.rolname < b.rolname ? -1 : 1),
      );
      // The stored verifiers are those of the exact passwords (quotes, spaces and `$` included).
      for (
        const [role, password] of [[run.writer, run.writerPassword], [
          run.reader,
          run.readerPassword,
        ]]
      ) {
        const [stored] = await admin`SELECT rolpassword FROM pg_authid WHERE rolname = ${role}`;
        assert.equal(await scramVerifierMatches(stored.rolpassword, password), true, role);
        assert.equal(await scramVerifierMatches(stored.rolpassword, `${password}x`), false);
      }
      const owners =
        await admin`SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`;
      assert.deepEqual(owners.map((row) => row.tableowner), [run.writer]);
      const [database] = await admin`SELECT pg_get_userbyid(datdba) AS owner FROM pg_database
        WHERE datname = ${run.database}`;
      assert.equal(database.owner, run.writer);
    } finally {
      await admin.end();
    }

    const writer = postgres(roleUrl(databaseUrl, run.database, run.writer, run.writerPassword));
    const reader = postgres(roleUrl(databaseUrl, run.database, run.reader, run.readerPassword), {
      max: 1,
    });
    try {
      await writer`INSERT INTO event_type_minute VALUES ('2025-01-01T00:00:00Z', 'view', 3)`;
      const rows = await reader`SELECT event_type, event_count FROM event_type_minute`;
      assert.deepEqual(rows.map((row) => ({ ...row })), [{ event_type: "view", event_count: "3" }]);
      await assert.rejects(
        reader`INSERT INTO event_type_minute VALUES ('2025-01-01T00:01:00Z', 'view', 1)`,
        /read-only transaction|permission denied/,
      );
      await assert.rejects(
        reader`SET default_transaction_read_only = off`.then(() =>
          reader`INSERT INTO event_type_minute VALUES ('2025-01-01T00:01:00Z', 'view', 1)`
        ),
        /permission denied/,
      );
      await assert.rejects(reader`CREATE TABLE grabbed (x int)`, /read-only|permission denied/);
      await assert.rejects(reader`SELECT payload FROM rejected_events`, /permission denied/);
    } finally {
      await writer.end();
      await reader.end();
    }
  } finally {
    await cleanUp(databaseUrl, run);
    await migrations.remove();
  }
});

Deno.test("running the init script again keeps the data and resets the roles' limits", async () => {
  const { databaseUrl } = await testServices();
  const run = newRun();
  try {
    await runInitScript(databaseUrl, run);
    const writer = postgres(roleUrl(databaseUrl, run.database, run.writer, run.writerPassword));
    try {
      await writer`CREATE TABLE kept (x int)`;
      await writer`INSERT INTO kept VALUES (1)`;
    } finally {
      await writer.end();
    }
    const admin = postgres(databaseUrlWithName(databaseUrl, run.database), { max: 1 });
    try {
      await admin.unsafe(`ALTER ROLE "${run.writer}" CREATEDB`);
      const output = await runInitScript(databaseUrl, { ...run, writerPassword: "changed" });
      assert.match(output, new RegExp(`database ${run.database}, writer ${run.writer}`));
      const [kept] = await admin`SELECT count(*)::int AS n FROM kept`;
      assert.equal(kept.n, 1);
      const [role] = await admin`SELECT rolcreatedb FROM pg_roles WHERE rolname = ${run.writer}`;
      assert.equal(role.rolcreatedb, false);
      const settings = await admin`SELECT unnest(setconfig) AS setting FROM pg_db_role_setting
        WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = ${run.reader})`;
      assert.deepEqual(settings.map((row) => row.setting), ["default_transaction_read_only=on"]);
    } finally {
      await admin.end();
    }
  } finally {
    await cleanUp(databaseUrl, run);
  }
});
