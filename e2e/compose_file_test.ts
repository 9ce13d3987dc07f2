/**
 * Checks of docker-compose.yml that run without a Docker engine: it
 * validates, its images are pinned, its paths and build targets exist, it
 * publishes on 127.0.0.1 only, consumers scale, and every variable it reads
 * has a documented local default.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { COMPOSE_FACTS, COMPOSE_VARIABLES } from "../tools/compose_settings.ts";
import {
  composeVariableUses,
  interpolateDefaults,
  isBindSource,
  isPinnedImage,
  parseCompose,
  parseDockerfile,
  parsePort,
  parseVolume,
} from "../tools/compose_model.ts";
import { PROGRAM_BUILDS, programBuild, REPO_ROOT } from "../tools/compile.ts";
import { PROGRAMS } from "../tools/config_reference.ts";
import { composeCommand, composeConfig } from "../testing/compose_cli.ts";
import { SHUTDOWN_BUDGET } from "../consumer/shutdown_budget.ts";

const composeText = await Deno.readTextFile(`${REPO_ROOT}/docker-compose.yml`);
const compose = parseCompose(composeText);
const services = Object.entries(compose.services);
/** Services that run once and exit (no health check). */
const ONE_SHOT = new Set(["migrate", "grafana-prometheus"]);

const composeCli = await composeCommand();
if (!composeCli) {
  console.error(
    "SKIPPED: docker-compose.yml was not validated by compose itself: neither `docker compose` " +
      "nor `docker-compose` is installed (apt-get install docker-compose; .ci/run does it). " +
      "The structural checks below still ran.",
  );
}

Deno.test({
  name: "compose itself validates the file, with and without the monitoring profile, with no .env",
  ignore: !composeCli,
  async fn() {
    for (const profiles of [[], ["monitoring"]]) {
      const result = await composeConfig(composeCli!, { repoRoot: REPO_ROOT, profiles });
      assert.equal(result.success, true, `compose config ${profiles} failed:\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /WARN|not set/i, "compose warned about the file");
      const resolved = parse(result.stdout);
      // compose v1 lists profiled services either way; v2 only with the profile.
      const expected = ["consumer", "grafana", "kafka", "migrate", "postgres", "producer"];
      if (profiles.length > 0) expected.push("prometheus", "grafana-prometheus");
      for (const name of expected) assert.ok(name in resolved.services, `${name} missing`);
    }
  },
});

Deno.test("the stack is kafka, postgres, grafana, producer, consumer, Prometheus and a Kafka cluster on profiles", () => {
  assert.deepEqual(
    services.map(([name]) => name).sort(),
    [
      "consumer",
      "grafana",
      "grafana-prometheus",
      "kafka",
      "kafka-1",
      "kafka-2",
      "kafka-3",
      "migrate",
      "postgres",
      "producer",
      "prometheus",
    ],
  );
  const profiled = services.filter(([, service]) => service.profiles);
  assert.deepEqual(profiled.map(([name, service]) => [name, service.profiles]), [
    ["prometheus", ["monitoring"]],
    ["grafana-prometheus", ["monitoring"]],
    ["kafka-1", ["cluster"]],
    ["kafka-2", ["cluster"]],
    ["kafka-3", ["cluster"]],
  ]);
});

Deno.test("every image is pinned to an exact release, never latest", () => {
  for (const [name, service] of services) {
    if (service.build) continue;
    assert.ok(service.image, `service ${name} has neither image nor build`);
    assert.ok(
      isPinnedImage(service.image),
      `service ${name}: image "${service.image}" is not pinned`,
    );
  }
  assert.equal(compose.services.kafka.image, "apache/kafka:3.9.1");
});

Deno.test("every built service names a Dockerfile target that exists and builds its program", async () => {
  const built = services.filter(([, service]) => service.build);
  // `migrate` runs the consumer's binary (`consumer migrate`), so it builds the consumer target.
  assert.deepEqual(
    built.map(([name]) => name).sort(),
    [...PROGRAM_BUILDS.map((b) => b.name), "migrate"].sort(),
  );
  for (const [name, service] of built) {
    const context = `${REPO_ROOT}/${service.build!.context}`;
    const dockerfile = await Deno.readTextFile(
      `${context}/${service.build!.dockerfile ?? "Dockerfile"}`,
    );
    const targets = parseDockerfile(dockerfile).map((stage) => stage.name);
    assert.ok(targets.includes(service.build!.target), `no stage "${service.build!.target}"`);
    assert.equal(service.build!.target, name === "migrate" ? "consumer" : name);
  }
});

Deno.test("every bind-mounted path exists and every named volume is declared", async () => {
  let binds = 0;
  for (const [name, service] of services) {
    for (const spec of service.volumes ?? []) {
      const { source, target } = parseVolume(spec);
      assert.ok(target.startsWith("/"), `${name}: volume target "${target}" is not absolute`);
      if (isBindSource(source)) {
        binds++;
        assert.ok(source.startsWith("./"), `${name}: "${source}" must be inside the repository`);
        await Deno.stat(`${REPO_ROOT}/${source}`).catch(() => {
          throw new Error(`${name} mounts ${source}, which does not exist`);
        });
      } else {
        assert.ok(
          compose.volumes && source in compose.volumes,
          `${name}: volume ${source} undeclared`,
        );
      }
    }
  }
  assert.ok(binds >= 4, "expected the init script, provisioning, dashboards and Prometheus config");
});

Deno.test("ports are published on 127.0.0.1 only", () => {
  for (const [name, service] of services) {
    for (const spec of service.ports ?? []) {
      const port = parsePort(interpolateDefaults(spec));
      assert.equal(port.hostIp, "127.0.0.1", `${name} publishes "${spec}" beyond 127.0.0.1`);
    }
  }
});

Deno.test("consumers scale: no container name anywhere and no published consumer port", () => {
  for (const [name, service] of services) {
    assert.equal(service.container_name, undefined, `${name} has a fixed container_name`);
  }
  assert.equal(compose.services.consumer.ports, undefined);
});

Deno.test("every long-running service is health-checked and programs wait for healthy dependencies", async () => {
  const dockerfile = parseDockerfile(await Deno.readTextFile(`${REPO_ROOT}/Dockerfile`));
  for (const [name, service] of services) {
    const imageCheck = dockerfile.find((stage) => stage.name === service.build?.target)
      ?.instructions.some((instruction) => instruction.keyword === "HEALTHCHECK");
    assert.ok(service.healthcheck || imageCheck || ONE_SHOT.has(name), `${name}: no health check`);
    assert.ok(service.restart, `${name} has no restart policy`);
  }
  for (const build of PROGRAM_BUILDS) {
    const service = compose.services[build.name];
    assert.equal(service.restart, "on-failure");
    const needs = build.name === "consumer" ? ["kafka", "migrate", "postgres"] : ["kafka"];
    assert.deepEqual(Object.keys(service.depends_on ?? {}).sort(), needs);
    for (const [name, dependency] of Object.entries(service.depends_on ?? {})) {
      const condition = ONE_SHOT.has(name) ? "service_completed_successfully" : "service_healthy";
      assert.equal(dependency.condition, condition, `${build.name} waits for ${name}`);
    }
  }
  assert.equal(compose.services.grafana.depends_on?.postgres.condition, "service_healthy");
});

Deno.test("every variable the compose file reads has a local default documented in .env.example", async () => {
  const documented = new Map(
    [...(await Deno.readTextFile(`${REPO_ROOT}/.env.example`)).matchAll(
      /^#? ?([A-Z0-9_]+)=(.*)$/gm,
    )]
      .map((match) => [match[1], match[2]]),
  );
  const uses = composeVariableUses(composeText);
  assert.ok(uses.length > 0);
  for (const use of uses) {
    assert.notEqual(
      use.fallback,
      undefined,
      `\${${use.name}} has no default: the stack needs a .env`,
    );
    assert.ok(documented.has(use.name), `${use.name} is used by compose but not in .env.example`);
    const variable = COMPOSE_VARIABLES.find((candidate) => candidate.name === use.name);
    if (variable) {
      assert.equal(use.fallback, variable.fallback, `${use.name}: compose default differs`);
      assert.equal(
        documented.get(use.name),
        variable.fallback,
        `${use.name}: .env.example differs`,
      );
    } else {
      // Program settings pass through empty, so the program's own default applies.
      assert.equal(use.fallback, "", `${use.name} must default to empty (the program's default)`);
    }
  }
  for (const variable of COMPOSE_VARIABLES) {
    assert.ok(uses.some((use) => use.name === variable.name), `${variable.name} is never used`);
  }
});

Deno.test("the consumer writes as the writer role into the database the init script creates", () => {
  const postgresEnv = compose.services.postgres.environment!;
  const url = new URL(
    interpolateDefaults(String(compose.services.consumer.environment!.DATABASE_URL)),
  );
  assert.equal(url.hostname, "postgres");
  assert.equal(url.port, "5432");
  assert.equal(decodeURIComponent(url.username), postgresEnv.ACTIVITY_WRITER_USER);
  assert.equal(url.pathname, `/${postgresEnv.ACTIVITY_DATABASE}`);
  assert.equal(url.username, COMPOSE_FACTS.writerRole);
  assert.equal(postgresEnv.ACTIVITY_DATABASE, COMPOSE_FACTS.database);
  assert.equal(postgresEnv.GRAFANA_READER_USER, COMPOSE_FACTS.readerRole);
  // The same password variable sets the role (init script) and the consumer's URL.
  assert.match(String(postgresEnv.ACTIVITY_WRITER_PASSWORD), /^\$\{ACTIVITY_WRITER_PASSWORD:-/);
  assert.match(
    String(compose.services.consumer.environment!.DATABASE_URL),
    /:\$\{ACTIVITY_WRITER_PASSWORD:-[^}]*\}@/,
  );
  const init = compose.services.postgres.volumes!.map(parseVolume)
    .find((volume) => volume.target.startsWith("/docker-entrypoint-initdb.d/"));
  assert.equal(init?.source, "./docker/postgres/init.sh");
});

Deno.test("the programs reach Kafka inside the network and the host reaches its published port", () => {
  const kafkaEnv = compose.services.kafka.environment!;
  const advertised = String(kafkaEnv.KAFKA_ADVERTISED_LISTENERS).split(",");
  assert.ok(advertised.includes(`INTERNAL://${COMPOSE_FACTS.internalBrokers}`));
  assert.ok(advertised.includes("HOST://127.0.0.1:${KAFKA_HOST_PORT:-9092}"));
  assert.deepEqual(compose.services.kafka.ports, ["127.0.0.1:${KAFKA_HOST_PORT:-9092}:9092"]);
  for (const build of PROGRAM_BUILDS) {
    assert.equal(
      compose.services[build.name].environment!.KAFKA_BROKERS,
      COMPOSE_FACTS.internalBrokers,
    );
  }
  const healthcheck = ([] as string[]).concat(compose.services.kafka.healthcheck!.test).join(" ");
  assert.match(healthcheck, /127\.0\.0\.1:19092/);
});

Deno.test("Prometheus scrapes every replica of each program on its metrics port", async () => {
  const mount = compose.services.prometheus.volumes!.map(parseVolume)
    .find((volume) => volume.target === "/etc/prometheus/prometheus.yml")!;
  const config = parse(await Deno.readTextFile(`${REPO_ROOT}/${mount.source}`)) as {
    scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
  };
  for (const build of PROGRAM_BUILDS) {
    const job = config.scrape_configs.find((candidate) => candidate.job_name === build.name);
    assert.deepEqual(job?.dns_sd_configs.map((sd) => [sd.names, sd.port]), [
      [[build.name], build.metricsPort],
    ]);
  }
});

Deno.test("every program variable reaches its container, passed through unless compose fixes it", () => {
  const fixedByCompose: Record<string, string[]> = {
    producer: ["KAFKA_BROKERS", "PRODUCER_METRICS_PORT"],
    consumer: ["KAFKA_BROKERS", "DATABASE_URL", "CONSUMER_METRICS_PORT"],
  };
  for (const program of PROGRAMS) {
    const environment = compose.services[program.name].environment!;
    const variables = Object.values(program.settings).flatMap((spec) => spec.env ? [spec.env] : []);
    for (const name of variables) {
      assert.ok(name in environment, `${program.name} reads ${name}, which compose does not pass`);
      if (fixedByCompose[program.name].includes(name)) continue;
      assert.equal(
        environment[name],
        `\${${name}:-}`,
        `${program.name}: ${name} is not passed through`,
      );
    }
    for (const name of Object.keys(environment)) {
      assert.ok(
        variables.includes(name) || name === "LOG_FORMAT",
        `${program.name} never reads ${name}`,
      );
    }
    // The fixed metrics port is the program's default, the image's health check and Prometheus' target.
    const port = Object.values(program.settings).find((spec) => spec.flag === "metrics-port")!;
    const build = programBuild(program.name as "producer" | "consumer");
    assert.equal(port.env, build.metricsPortEnv);
    assert.equal(String(environment[port.env!]), String(build.metricsPort));
    assert.equal(port.fallback, String(build.metricsPort));
  }
});

Deno.test("the scripts compose mounts get every variable they require from their service", async () => {
  let scripts = 0;
  for (const [name, service] of services) {
    for (const { source } of (service.volumes ?? []).map(parseVolume)) {
      if (!source.endsWith(".sh")) continue;
      scripts++;
      const text = await Deno.readTextFile(`${REPO_ROOT}/${source}`);
      // Upper-case names without a `:-` default; lower-case ones are the script's own.
      const required = composeVariableUses(text.replace(/^\s*#.*$/gm, ""))
        .filter((use) => use.fallback === undefined && /^[A-Z][A-Z0-9_]*$/.test(use.name));
      for (const use of required) {
        assert.ok(use.name in (service.environment ?? {}), `${source} needs ${use.name} (${name})`);
      }
    }
  }
  assert.equal(scripts, 2);
});

Deno.test("compose gives the consumer longer to stop than its own stop budget", () => {
  const grace = compose.services.consumer.stop_grace_period ?? "10s";
  const match = /^(\d+)s$/.exec(grace);
  assert.ok(match, `stop_grace_period "${grace}" is whole seconds`);
  assert.ok(
    Number(match[1]) * 1000 > SHUTDOWN_BUDGET.hardExitMs,
    `stop_grace_period ${grace} must exceed the consumer's ${SHUTDOWN_BUDGET.hardExitMs} ms budget`,
  );
});
