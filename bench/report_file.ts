/** What every benchmark does at its end: write its JSON report, drop the databases it made. */
import type postgres from "postgres";

/** Writes `report` as `folder/name` (pretty JSON); returns the path. */
export async function writeJsonReport(
  folder: string,
  name: string,
  report: unknown,
): Promise<string> {
  await Deno.mkdir(folder, { recursive: true });
  const path = `${folder}/${name}`;
  await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
  return path;
}

/** Drops the benchmark's databases (whoever is still connected) and closes `admin`. */
export async function dropDatabasesAndEnd(
  admin: postgres.Sql,
  names: readonly string[],
): Promise<void> {
  for (const name of names) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
