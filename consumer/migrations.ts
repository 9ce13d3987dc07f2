/**
 * Numbered SQL migrations from `sql/`, applied in order under an advisory
 * lock and recorded in `schema_migrations`, so several consumers starting at
 * once apply each migration exactly once.
 *
 * The files are read relative to this module (`import.meta.url`), never the
 * working directory: from source that is the repository's `sql/`, and in a
 * binary built with `deno compile --include sql consumer/main.ts` it is the
 * copy embedded at the same relative path. `e2e/consumer_migrations_test.ts`
 * checks the lookup.
 */
import postgres from "postgres";
import type { Logger } from "@activity/shared";

/** Where the migrations live, relative to this module. */
export const MIGRATIONS_DIRECTORY: URL = new URL("../sql/", import.meta.url);

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Any fixed number works; it only has to be the same in every consumer.
const LOCK_KEY = 7_432_001;

/** One migration file. */
export interface Migration {
  /** The four-digit number, e.g. `0001`. */
  readonly version: string;
  /** The file name. */
  readonly name: string;
  readonly sql: string;
  /** SHA-256 of the file, hex. */
  readonly checksum: string;
}

/** The migrations could not be read or applied. */
export class MigrationError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MigrationError";
  }
}

/** Reads the migration files of a directory, in version order. */
export async function loadMigrations(directory: URL = MIGRATIONS_DIRECTORY): Promise<Migration[]> {
  const migrations: Migration[] = [];
  try {
    for await (const entry of Deno.readDir(directory)) {
      const match = entry.isFile ? FILE_NAME.exec(entry.name) : null;
      if (!match) continue;
      const sql = await Deno.readTextFile(new URL(entry.name, directory));
      migrations.push({ version: match[1], name: entry.name, sql, checksum: await sha256(sql) });
    }
  } catch (error) {
    throw new MigrationError(
      `Cannot read the migrations in ${directory.href}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  migrations.sort((a, b) => a.version.localeCompare(b.version));
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version === migrations[i - 1].version) {
      throw new MigrationError(
        `Two migrations have version ${migrations[i].version}: ${migrations[i - 1].name} and ` +
          `${migrations[i].name}; each number must be used once`,
      );
    }
  }
  if (migrations.length === 0) {
    throw new MigrationError(`No migrations (NNNN_name.sql) found in ${directory.href}`);
  }
  return migrations;
}

/** What `migrate` did. */
export interface MigrationReport {
  /** Files applied by this call. */
  readonly applied: string[];
  /** Files that were already applied. */
  readonly alreadyApplied: string[];
}

/** Options of `migrate`. */
export interface MigrateOptions {
  readonly log?: Logger;
  /** Another directory of migrations (tests). */
  readonly directory?: URL;
}

/** Applies the pending migrations to the database at `databaseUrl`. */
export async function migrate(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const migrations = await loadMigrations(options.directory);
  const sql = postgres(databaseUrl, {
    max: 1,
    // An unreachable host must fail fast enough to be reported and retried.
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "activity-consumer-migrate" },
  });
  try {
    return await applyMigrations(sql, migrations, options.log);
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(`Cannot apply migrations: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function applyMigrations(
  sql: postgres.Sql,
  migrations: readonly Migration[],
  log?: Logger,
): Promise<MigrationReport> {
  return await sql.begin(async (tx) => {
    // One transaction under a transaction-level lock: a second consumer waits here, then
    // sees what the first recorded; a failing migration leaves nothing half-applied.
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx<{ version: string; name: string; checksum: string }[]>`
      SELECT version, name, checksum FROM schema_migrations`;
    const done = new Map(rows.map((row) => [row.version, row]));
    const report: MigrationReport = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const previous = done.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          log?.warn("an applied migration has changed since it was applied; not re-applied", {
            migration: migration.name,
            applied: previous.name,
          });
        }
        report.alreadyApplied.push(migration.name);
        continue;
      }
      try {
        await tx.unsafe(migration.sql);
      } catch (error) {
        throw new MigrationError(
          `Cannot apply migration ${migration.name}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await tx`INSERT INTO schema_migrations (version, name, checksum)
        VALUES (${migration.version}, ${migration.name}, ${migration.checksum})`;
      report.applied.push(migration.name);
      log?.info("applied migration", { migration: migration.name });
    }
    return report;
  });
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
