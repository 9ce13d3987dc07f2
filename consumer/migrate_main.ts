/**
 * `deno task migrate` and `consumer migrate` (the binary, compose's one-shot `migrate` service):
 * applies the pending migrations to `DATABASE_URL` (or `--database-url`).
 */
import { commonSettings } from "@activity/shared";
import { loadConfigOrExit, processLogger } from "@activity/shared/runtime";
import { migrate } from "./migrations.ts";

/** Applies the pending migrations; returns the exit code (0 done, 1 failed, 2 bad settings). */
export async function migrateCommand(args: readonly string[]): Promise<number> {
  const config = loadConfigOrExit({
    name: "migrate",
    summary: "applies the pending SQL migrations in sql/ (under an advisory lock)",
    settings: {
      databaseUrl: commonSettings.databaseUrl,
    },
  }, args);
  const log = processLogger("migrate", "info");
  try {
    const report = await migrate(config.databaseUrl, { log });
    log.info("migrations up to date", {
      applied: report.applied.length,
      already_applied: report.alreadyApplied.length,
    });
    return 0;
  } catch (error) {
    log.error("migration failed", { error: error as Error });
    return 1;
  }
}

if (import.meta.main) Deno.exit(await migrateCommand(Deno.args));
