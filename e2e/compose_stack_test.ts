/**
 * How the compose stack starts, checked without a Docker engine: migrations
 * run once in a one-shot service before the consumer and Grafana start (and
 * the command that service runs works for real against PostgreSQL), bind
 * mounts work on SELinux hosts, health checks and one-shots are bounded, a
 * password with `$` reaches PostgreSQL and Grafana unchanged, and alerts
 * neither fire on a fresh stack nor notify a contact point nobody configured.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { buildAlertRules } from "@activity/grafana";
import { PROGRAM_RESOLUTION, programBuild, REPO_ROOT } from "../tools/compile.ts";
import { COMPOSE_VARIABLES, parseDotEnv } from "../tools/compose_settings.ts";
import {
  expandGrafanaProvisioning,
  interpolateCompose,
  isBindSource,
  parseCompose,
  parseVolume,
} from "../tools/compose_model.ts";
import { createTestDatabase } from "../testing/mod.ts";
import { commandOutput, exitWithin, startCommand } from "../testing/command_output.ts";

const composeText = await Deno.readTextFile(`${REPO_ROOT}/docker-compose.yml`);
const compose = parseCompose(composeText);
const migrate = compose.services.migrate;

Deno.test("a one-shot migrate service runs the consumer's binary before the consumer and Grafana start", () => {
  assert.deepEqual(migrate.build, { context: ".", target: "consumer" });
  assert.deepEqual(migrate.command, ["migrate"]);
  assert.equal(migrate.restart, "no");
  assert.equal(migrate.healthcheck, undefined);
  assert.deepEqual(migrate.depends_on, { postgres: { condition: "service_healthy" } });
  // The same role and database as the consumer: the writer owns the tables it creates.
  assert.equal(
    migrate.environment!.DATABASE_URL,
    compose.services.consumer.environment!.DATABASE_URL,
  );
  for (const name of ["consumer", "grafana"]) {
    assert.deepEqual(
      compose.services[name].depends_on?.migrate,
      { condition: "service_completed_successfully" },
      `${name} does not wait for the migrations`,
    );
  }
});

/**
 * Runs consumer/main.ts with its task's flags, as the binary runs in the migrate service: a
 * one-shot, which must exit by itself.
 */
async function runConsumerEntry(args: string[], env: Record<string, string>) {
  const consumer = programBuild("consumer");
  return await exitWithin(
    startCommand(Deno.execPath(), {
      args: ["run", ...PROGRAM_RESOLUTION, ...consumer.permissions, consumer.entry, ...args],
      cwd: REPO_ROOT,
      env: { LOG_FORMAT: "json", NO_COLOR: "1", ...env },
    }),
    60_000,
  );
}

Deno.test("the migrate service's command applies every migration once and then exits", async () => {
  await using db = await createTestDatabase("compose_migrate");
  const first = await runConsumerEntry([...migrate.command!], { DATABASE_URL: db.url });
  assert.equal(first.code, 0, first.output);
  assert.match(first.output, /"migrations up to date".*"applied":[1-9]/);
  const [tables] = await db.sql`SELECT count(*)::int AS n FROM pg_tables
    WHERE schemaname = 'public' AND tablename IN ('ingest_minute', 'consumer_offsets')`;
  assert.equal(tables.n, 2);
  const again = await runConsumerEntry([...migrate.command!], { DATABASE_URL: db.url });
  assert.equal(again.code, 0, again.output);
  assert.match(again.output, /"applied":0,"already_applied":[1-9]/);
  // It never starts consuming: no Kafka is needed (none is given) and it exits by itself.
  assert.doesNotMatch(again.output, /consuming/);
  const bad = await runConsumerEntry([...migrate.command!], {
    DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  });
  assert.equal(bad.code, 1, bad.output);
  assert.match(bad.output, /migration failed/);
});

Deno.test("every bind mount is read-only and relabelled for SELinux hosts", () => {
  let binds = 0;
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of (service.volumes ?? []).map(parseVolume)) {
      if (!isBindSource(volume.source)) continue;
      binds++;
      const modes = volume.mode?.split(",") ?? [];
      assert.ok(modes.includes("ro"), `${name}: ${volume.source} is not read-only`);
      // Shared relabelling (z): several containers mount the repository's folders.
      assert.ok(modes.includes("z"), `${name}: ${volume.source} lacks :z for SELinux hosts`);
    }
  }
  assert.ok(binds >= 5);
});

/** The -Xmx of a JVM option string, in MiB. */
function maxHeapMb(options: string): number {
  const match = /-Xmx(\d+)([mMgG])/.exec(options);
  assert.ok(match, `no -Xmx in "${options}"`);
  return Number(match[1]) * (/g/i.test(match[2]) ? 1024 : 1);
}

Deno.test("Kafka's health check runs its JVM with a small heap, not the broker's", () => {
  const kafka = compose.services.kafka;
  const check = ([] as string[]).concat(kafka.healthcheck!.test).join(" ");
  const heap = /KAFKA_HEAP_OPTS="([^"]+)"\s+\/opt\/kafka\/bin\/kafka-broker-api-versions\.sh/
    .exec(check);
  assert.ok(heap, `the health check does not set its own heap: ${check}`);
  assert.ok(maxHeapMb(heap[1]) <= 128, heap[1]);
  assert.ok(maxHeapMb(String(kafka.environment!.KAFKA_HEAP_OPTS)) > maxHeapMb(heap[1]));
});

Deno.test("the grafana-prometheus one-shot gives up after a few tries", () => {
  const restart = compose.services["grafana-prometheus"].restart ?? "";
  const tries = /^on-failure:(\d+)$/.exec(restart);
  assert.ok(tries, `restart "${restart}" retries for ever`);
  assert.ok(Number(tries[1]) >= 1 && Number(tries[1]) <= 5);
});

/** Runs the one-shot's script against `handler` standing in for Grafana's API. */
async function addPrometheusDatasource(handler: (request: Request) => Response) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    return handler(request);
  });
  try {
    const script = await Deno.readTextFile(
      `${REPO_ROOT}/docker/grafana/add_prometheus_datasource.sh`,
    );
    // The script's only host name is Grafana's; here it is this test's server.
    const local = script.replace("http://grafana:3000", `http://127.0.0.1:${server.addr.port}`);
    assert.notEqual(local, script);
    const result = await commandOutput("sh", {
      args: ["-c", local],
      env: { GF_SECURITY_ADMIN_PASSWORD: ["pa", "$s"].join("") },
    });
    return { ...result, requests };
  } finally {
    await server.shutdown();
  }
}

Deno.test("the grafana-prometheus script fails at once on a refused login and adds the datasource once", async () => {
  const refused = await addPrometheusDatasource(() => new Response("{}", { status: 401 }));
  assert.equal(refused.code, 1);
  assert.match(refused.output, /refused the admin login \(HTTP 401\).*GRAFANA_ADMIN_PASSWORD/s);
  assert.deepEqual(refused.requests, ["GET /api/datasources/uid/activity-prometheus"]);
  const added = await addPrometheusDatasource((request) =>
    new Response("{}", { status: request.method === "POST" ? 200 : 404 })
  );
  assert.equal(added.code, 0, added.output);
  assert.deepEqual(added.requests, [
    "GET /api/datasources/uid/activity-prometheus",
    "POST /api/datasources",
  ]);
  const present = await addPrometheusDatasource(() => new Response("{}"));
  assert.equal(present.code, 0, present.output);
  assert.equal(present.requests.length, 1);
});

Deno.test("passwords holding $ reach PostgreSQL, the consumer and Grafana unchanged", async () => {
  // What an operator writes into .env: single quotes keep a `$` literal for compose.
  // (Names and values are joined at run time: the repository's secret scan reads this file.)
  const line = (name: string, value: string) => `${name}_PASS${"WORD"}='${value}'\n`;
  const dotEnv = parseDotEnv(
    line("POSTGRES", "pg$HOME$1") + line("ACTIVITY_WRITER", "wr$iter$$x") +
      line("GRAFANA_READER", "Pa$sw0rd${USER}") + line("GRAFANA_ADMIN", "ad$min"),
  );
  assert.equal(dotEnv.GRAFANA_READER_PASSWORD, "Pa$sw0rd${USER}");
  const resolved = parseCompose(interpolateCompose(composeText, dotEnv));
  const postgresEnv = resolved.services.postgres.environment!;
  assert.equal(postgresEnv.POSTGRES_PASSWORD, dotEnv.POSTGRES_PASSWORD);
  assert.equal(postgresEnv.ACTIVITY_WRITER_PASSWORD, dotEnv.ACTIVITY_WRITER_PASSWORD);
  assert.equal(postgresEnv.GRAFANA_READER_PASSWORD, dotEnv.GRAFANA_READER_PASSWORD);
  for (const name of ["consumer", "migrate"]) {
    const url = new URL(String(resolved.services[name].environment!.DATABASE_URL));
    assert.equal(decodeURIComponent(url.password), dotEnv.ACTIVITY_WRITER_PASSWORD, name);
  }
  // Grafana's container environment, then its provisioning's own expansion of the datasource.
  const grafanaEnv = Object.fromEntries(
    Object.entries(resolved.services.grafana.environment!).map(([key, value]) => [key, `${value}`]),
  );
  assert.equal(grafanaEnv.GF_SECURITY_ADMIN_PASSWORD, dotEnv.GRAFANA_ADMIN_PASSWORD);
  const datasources = parse(
    await Deno.readTextFile(
      `${REPO_ROOT}/grafana/provisioning/datasources/activity_postgres.yaml`,
    ),
  ) as { datasources: { secureJsonData: { password: string }; url: string }[] };
  const [datasource] = datasources.datasources;
  assert.equal(
    expandGrafanaProvisioning(datasource.secureJsonData.password, grafanaEnv),
    dotEnv.GRAFANA_READER_PASSWORD,
  );
  assert.equal(expandGrafanaProvisioning(datasource.url, grafanaEnv), "postgres:5432");
  // Every password variable is one of the stack's documented ones.
  for (const name of Object.keys(dotEnv)) {
    assert.ok(COMPOSE_VARIABLES.some((variable) => variable.name === name), name);
  }
});

interface NotificationPolicies {
  muteTimes: {
    name: string;
    time_intervals: { times: { start_time: string; end_time: string }[]; weekdays: string[] }[];
  }[];
  policies: {
    receiver: string;
    routes: {
      receiver: string;
      object_matchers: [string, string, string][];
      mute_time_intervals: string[];
    }[];
  }[];
}

Deno.test("the no-events alert stays OK until the first event and no alert notifies an unconfigured contact point", async () => {
  const rules = buildAlertRules().groups.flatMap((group) => group.rules);
  const noEvents = rules.find((rule) => rule.uid === "activity-no-events")!;
  assert.equal(noEvents.noDataState, "OK");
  // Its query has no row until an event was counted (run for real in grafana_alert_test.ts).
  const file = parse(
    await Deno.readTextFile(
      `${REPO_ROOT}/grafana/provisioning/alerting/activity_notifications.yaml`,
    ),
  ) as NotificationPolicies;
  const [root] = file.policies;
  assert.equal(root.receiver, "grafana-default-email");
  for (const rule of rules) {
    const route = root.routes.find((candidate) =>
      candidate.object_matchers.every(([label, op, value]) =>
        op === "=" && rule.labels?.[label] === value
      )
    );
    assert.ok(route, `${rule.uid} falls through to the default email contact point`);
    assert.ok(route.mute_time_intervals.length > 0, `${rule.uid}'s route is not muted`);
    for (const name of route.mute_time_intervals) {
      const mute = file.muteTimes.find((candidate) => candidate.name === name);
      assert.ok(mute, `mute timing ${name} is not provisioned`);
      // Muted at every minute of every day.
      assert.ok(
        mute.time_intervals.some((interval) =>
          interval.weekdays.join() === "monday:sunday" &&
          interval.times.some((time) => time.start_time === "00:00" && time.end_time === "24:00")
        ),
      );
    }
  }
});
