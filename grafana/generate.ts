/**
 * `deno task grafana`: writes the generated dashboard JSON and alert rules into `grafana/`.
 * `--check` writes nothing and exits 1 when a committed file differs from what the code generates.
 */
import { ALERT_RULES_FILE, buildAlertRules } from "./alert_rules.ts";
import { buildActivityDashboard, DASHBOARD_FILE } from "./dashboard.ts";

/** The directory `grafana/` (this module's own). */
export const GRAFANA_DIR: URL = new URL("./", import.meta.url);

/** Every generated file: its path under `grafana/` and its exact text. */
export function generatedFiles(): Map<string, string> {
  return new Map([
    [`dashboards/${DASHBOARD_FILE}`, toJsonText(buildActivityDashboard())],
    [`provisioning/alerting/${ALERT_RULES_FILE}`, toJsonText(buildAlertRules())],
  ]);
}

function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The generated files whose committed text differs (or is missing). */
export async function staleFiles(directory: URL = GRAFANA_DIR): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, text] of generatedFiles()) {
    const committed = await Deno.readTextFile(new URL(path, directory)).catch(() => undefined);
    if (committed !== text) stale.push(path);
  }
  return stale;
}

/** Writes every generated file; returns their paths. */
async function writeGeneratedFiles(directory: URL = GRAFANA_DIR): Promise<string[]> {
  const written: string[] = [];
  for (const [path, text] of generatedFiles()) {
    const target = new URL(path, directory);
    await Deno.mkdir(new URL("./", target), { recursive: true });
    await Deno.writeTextFile(target, text);
    written.push(path);
  }
  return written;
}

if (import.meta.main) {
  const unknown = Deno.args.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    console.error(`Cannot generate: unknown argument "${unknown[0]}": the only flag is --check`);
    Deno.exit(2);
  }
  if (Deno.args.includes("--check")) {
    const stale = await staleFiles();
    if (stale.length > 0) {
      console.error(
        `Generated Grafana files are out of date: ${stale.join(", ")}; run deno task grafana`,
      );
      Deno.exit(1);
    }
    console.log("Generated Grafana files are up to date.");
  } else {
    for (const path of await writeGeneratedFiles()) console.log(`wrote grafana/${path}`);
  }
}
