/**
 * Grafana in docker-compose.yml mounts exactly the provisioning and dashboards
 * that the Grafana tests (grafana/dashboard_test.ts) check, and gives them
 * everything they read from the environment, pointing at the compose database
 * as the read-only role.
 */
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { DASHBOARD_FILE, DATASOURCE_UID, GRAFANA_DIR, staleFiles } from "@activity/grafana";
import { REPO_ROOT } from "../tools/compile.ts";
import { COMPOSE_FACTS } from "../tools/compose_settings.ts";
import {
  expandGrafanaProvisioning,
  interpolateDefaults,
  parseCompose,
  parseVolume,
} from "../tools/compose_model.ts";

const compose = parseCompose(await Deno.readTextFile(`${REPO_ROOT}/docker-compose.yml`));
const grafana = compose.services.grafana;
const grafanaEnv = grafana.environment!;
const mounts = (grafana.volumes ?? []).map(parseVolume);

/** The host folder (as a file URL with a trailing slash) mounted at `target`. */
function mountedFrom(target: string): URL {
  const mount = mounts.find((candidate) => candidate.target === target);
  assert.ok(mount, `nothing is mounted at ${target}`);
  assert.ok(mount.mode?.split(",").includes("ro"), `${target} is not mounted read-only`);
  return new URL(`${mount.source.replace(/^\.\//, "")}/`, pathToFileURL(`${REPO_ROOT}/`));
}

async function provisioningFiles(folder: string): Promise<Record<string, unknown>[]> {
  const files: Record<string, unknown>[] = [];
  const directory = new URL(folder, mountedFrom("/etc/grafana/provisioning"));
  for await (const entry of Deno.readDir(directory)) {
    const text = await Deno.readTextFile(new URL(entry.name, directory));
    files.push(entry.name.endsWith(".json") ? JSON.parse(text) : parse(text));
  }
  return files;
}

Deno.test("Grafana mounts, read-only, the very folders the Grafana tests check", async () => {
  assert.equal(
    mountedFrom("/etc/grafana/provisioning").href,
    new URL("provisioning/", GRAFANA_DIR).href,
  );
  const dashboardsTarget = mounts.find((mount) => mount.source === "./grafana/dashboards")?.target;
  assert.ok(dashboardsTarget);
  assert.equal(mountedFrom(dashboardsTarget).href, new URL("dashboards/", GRAFANA_DIR).href);
  // ... and what they hold is what the code generates (the Grafana tests' own check).
  assert.deepEqual(await staleFiles(), []);
});

/** Every string value inside a parsed file. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

Deno.test("every $VAR in the provisioning files is set in the Grafana container", async () => {
  const used = new Set<string>();
  for (const folder of ["datasources/", "dashboards/", "alerting/"]) {
    for (const value of (await provisioningFiles(folder)).flatMap(strings)) {
      // Grafana expands $NAME and ${NAME} in values; $$ is a literal dollar.
      for (const match of value.replaceAll("$$", "").matchAll(/\$\{?([A-Za-z][A-Za-z0-9_]*)\}?/g)) {
        used.add(match[1]);
      }
    }
  }
  assert.ok(used.size > 0, "expected the datasource to read its settings from the environment");
  for (const name of used) {
    assert.ok(name in grafanaEnv, `provisioning reads ${name}, which compose does not set`);
    assert.notEqual(interpolateDefaults(String(grafanaEnv[name])), "", `${name} is empty`);
  }
});

Deno.test("the provisioned datasource reaches the compose database as the read-only role", async () => {
  const files = await provisioningFiles("datasources/") as {
    datasources: {
      uid: string;
      type: string;
      url: string;
      user: string;
      jsonData: Record<string, string>;
      secureJsonData: Record<string, string>;
    }[];
  }[];
  const datasource = files.flatMap((file) => file.datasources).find((ds) =>
    ds.uid === DATASOURCE_UID
  );
  assert.ok(datasource, `no datasource with uid ${DATASOURCE_UID}`);
  const containerEnv = Object.fromEntries(
    Object.entries(grafanaEnv).map(([name, value]) => [name, interpolateDefaults(String(value))]),
  );
  const resolve = (value: string) => expandGrafanaProvisioning(value, containerEnv);
  const postgresEnv = compose.services.postgres.environment!;
  assert.equal(resolve(datasource.url), "postgres:5432");
  assert.equal(datasource.user, postgresEnv.GRAFANA_READER_USER);
  assert.equal(datasource.user, COMPOSE_FACTS.readerRole);
  assert.equal(resolve(datasource.jsonData.database), postgresEnv.ACTIVITY_DATABASE);
  assert.equal(resolve(datasource.jsonData.sslmode), "disable");
  // The password Grafana sends is the one the init script gave the reader role.
  // `$NAME`, not `${NAME}`: Grafana expands a `$` in a `${NAME}` value a second time.
  const password = /^\$([A-Z0-9_]+)$/.exec(datasource.secureJsonData.password)?.[1];
  assert.ok(password);
  assert.equal(grafanaEnv[password], postgresEnv.GRAFANA_READER_PASSWORD);
  assert.match(String(postgresEnv.GRAFANA_READER_PASSWORD), /^\$\{GRAFANA_READER_PASSWORD:-/);
});

Deno.test("the dashboard provider reads the mounted dashboards and the home dashboard is one of them", async () => {
  const files = await provisioningFiles("dashboards/") as {
    providers: { options: { path: string } }[];
  }[];
  const paths = files.flatMap((file) => file.providers.map((provider) => provider.options.path));
  assert.equal(paths.length, 1);
  const dashboards = mountedFrom(paths[0]);
  const home = String(grafanaEnv.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
  assert.equal(home, `${paths[0]}/${DASHBOARD_FILE}`);
  const dashboard = JSON.parse(await Deno.readTextFile(new URL(DASHBOARD_FILE, dashboards)));
  assert.ok(dashboard.uid && dashboard.panels.length > 0);
});

Deno.test("Grafana lets anonymous visitors view and takes its admin password from the environment", () => {
  assert.equal(grafanaEnv.GF_AUTH_ANONYMOUS_ENABLED, "true");
  assert.equal(grafanaEnv.GF_AUTH_ANONYMOUS_ORG_ROLE, "Viewer");
  assert.equal(grafanaEnv.GF_SECURITY_ADMIN_PASSWORD, "${GRAFANA_ADMIN_PASSWORD:-admin}");
  assert.equal(grafanaEnv.GF_USERS_ALLOW_SIGN_UP, "false");
  const monitoring = compose.services["grafana-prometheus"];
  assert.equal(monitoring.image, grafana.image);
  assert.equal(
    monitoring.environment!.GF_SECURITY_ADMIN_PASSWORD,
    grafanaEnv.GF_SECURITY_ADMIN_PASSWORD,
  );
});
