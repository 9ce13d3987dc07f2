/**
 * Shared by the Grafana end-to-end tests: a migrated database of a test's own, the reader role,
 * and running the dashboard's queries exactly as Grafana would, through the SELECT-only role.
 */
import postgres from "postgres";
import { migrate } from "@activity/consumer";
import { buildActivityDashboard, buildAlertRules } from "@activity/grafana";
import {
  collectQueries,
  expandQuery,
  type PanelQuery,
  type RunOptions,
} from "@activity/grafana/emulation";
import { createTestDatabase, type TestDatabase, testServices } from "../testing/services.ts";

/** The role Grafana connects as (compose creates it with a password; tests without login). */
export const READER_ROLE = "grafana_reader";

/** Creates the reader role on the test server when it is missing (roles are cluster-wide). */
export async function ensureReaderRole(): Promise<void> {
  const { databaseUrl } = await testServices();
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DO $$ BEGIN
      CREATE ROLE ${READER_ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
  } finally {
    await admin.end();
  }
}

/** A database of the test's own with every migration applied by the consumer's runner. */
export async function dashboardDatabase(prefix: string): Promise<TestDatabase> {
  await ensureReaderRole();
  const db = await createTestDatabase(prefix);
  try {
    await migrate(db.url);
  } catch (error) {
    await db[Symbol.asyncDispose]();
    throw error;
  }
  return db;
}

/** The dashboard and alert queries, keyed like `panel 4 A` / `alert activity-no-events A`. */
export function dashboardQueries(): Map<string, PanelQuery> {
  return new Map(
    collectQueries(buildActivityDashboard(), buildAlertRules()).map((query) => [query.key, query]),
  );
}

/** Rows as plain objects with numbers for numeric columns (postgres.js returns bigint as text). */
export type Row = Record<string, unknown>;

/** Runs one query as Grafana would (macros expanded for `options`), as the reader role. */
export async function runAsGrafana(
  sql: postgres.Sql,
  query: PanelQuery,
  options: RunOptions,
): Promise<{ columns: string[]; rows: Row[] }> {
  const { sql: text } = expandQuery(query, buildActivityDashboard().time!, options);
  return await sql.begin(async (tx) => {
    // Like the compose reader's sessions: read-only, and only the reader's privileges.
    await tx.unsafe("SET TRANSACTION READ ONLY");
    await tx.unsafe(`SET LOCAL ROLE ${READER_ROLE}`);
    const result = await tx.unsafe(text);
    return {
      columns: result.columns.map((column) => column.name),
      rows: result.map((row) => numeric({ ...row })),
    };
  });
}

/** Runs every dashboard and alert query; returns them by key. */
export async function runAllAsGrafana(
  sql: postgres.Sql,
  options: RunOptions,
): Promise<Map<string, { columns: string[]; rows: Row[] }>> {
  const results = new Map<string, { columns: string[]; rows: Row[] }>();
  for (const [key, query] of dashboardQueries()) {
    results.set(key, await runAsGrafana(sql, query, options));
  }
  return results;
}

function numeric(row: Row): Row {
  for (const [key, value] of Object.entries(row)) {
    if (
      typeof value === "string" && /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(value) && key !== "user_id"
    ) {
      row[key] = Number(value);
    }
  }
  return row;
}

/** Epoch seconds of an ISO time (the `time` column of a `$__timeGroupAlias` query). */
export function epoch(iso: string): number {
  return Date.parse(iso) / 1000;
}
