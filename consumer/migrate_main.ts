/** `deno task migrate`: applies the pending migrations to `DATABASE_URL` (or `--database-url`). */
import { commonSettings } from "@activity/shared";
import { loadConfigOrExit, processLogger } from "@activity/shared/runtime";
import { migrate } from "./migrations.ts";

if (import.meta.main) {
  const config = loadConfigOrExit({
    name: "migrate",
    summary: "applies the pending SQL migrations in sql/ (under an advisory lock)",
    settings: {
      databaseUrl: commonSettings.databaseUrl,
    },
  });
  const log = processLogger("migrate", "info");
  try {
    const report = await migrate(config.databaseUrl, { log });
    log.info("migrations up to date", {
      applied: report.applied.length,
      already_applied: report.alreadyApplied.length,
    });
  } catch (error) {
    log.error("migration failed", { error: error as Error });
    Deno.exit(1);
  }
}
