/**
 * Checks of the compose profile `cluster` that run without a Docker engine:
 * three `apache/kafka` nodes, each broker and controller, forming one KRaft
 * quorum; replicated as the local cluster of `deno task services --brokers 3`
 * is (the same properties, compared key by key) and reachable from the host
 * on the same addresses; each with its own volume; and compose itself
 * accepts the file with the profile on.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  interpolateDefaults,
  parseCompose,
  parsePort,
  parseVolume,
} from "../tools/compose_model.ts";
import { REPO_ROOT } from "../tools/compile.ts";
import { clusterPorts } from "../tools/kafka_cluster.ts";
import { kafkaNodeProperties } from "../tools/kafka_properties.ts";
import { composeCommand, composeConfig } from "../testing/compose_cli.ts";

const compose = parseCompose(await Deno.readTextFile(`${REPO_ROOT}/docker-compose.yml`));
const NODES = ["kafka-1", "kafka-2", "kafka-3"] as const;
const nodes = NODES.map((name) => {
  const service = compose.services[name];
  assert.ok(service, `compose has no service ${name}`);
  return { name, service, env: service.environment as Record<string, string | number> };
});

/** `KAFKA_FOO_BAR` as the image turns it into a property: `foo.bar`. */
function propertyName(variable: string): string {
  return variable.replace(/^KAFKA_/, "").toLowerCase().replaceAll("_", ".");
}

Deno.test("the cluster profile is three apache/kafka nodes of the single broker's image, each broker and controller", () => {
  for (const { name, service, env } of nodes) {
    assert.deepEqual(service.profiles, ["cluster"], name);
    assert.equal(service.image, compose.services.kafka.image, `${name}: image`);
    assert.equal(env.KAFKA_PROCESS_ROLES, "broker,controller", name);
    assert.equal(service.restart, "unless-stopped", name);
    assert.match(
      ([] as string[]).concat(service.healthcheck!.test).join(" "),
      /127\.0\.0\.1:19092/,
    );
  }
});

Deno.test("the three nodes form one quorum: one cluster id, ids 1 to 3, every voter named by every node", () => {
  const ids = nodes.map(({ env }) => Number(env.KAFKA_NODE_ID));
  assert.deepEqual(ids, [1, 2, 3]);
  assert.equal(new Set(nodes.map(({ env }) => env.CLUSTER_ID)).size, 1);
  // A cluster id is a UUID in base64url: 16 bytes, so 22 characters whose last 4 bits are zero.
  const clusterId = String(nodes[0].env.CLUSTER_ID);
  assert.match(clusterId, /^[A-Za-z0-9_-]{21}[AQgw]$/);
  const voters = "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093";
  for (const { name, env } of nodes) {
    assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, voters, name);
    assert.match(String(env.KAFKA_LISTENERS), /CONTROLLER:\/\/:9093/, name);
    assert.equal(env.KAFKA_CONTROLLER_LISTENER_NAMES, "CONTROLLER", name);
  }
});

Deno.test("the compose cluster replicates like the local one: three copies, two in sync, internal topics too, no unclean leaders", () => {
  const quorum = clusterPorts(3);
  const local = Object.fromEntries(
    kafkaNodeProperties({ ...quorum[0], quorum, dataDir: "/d" }).trim().split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const keys = [
    "default.replication.factor",
    "min.insync.replicas",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "unclean.leader.election.enable",
    "auto.create.topics.enable",
    "num.partitions",
  ];
  for (const { name, env } of nodes) {
    const properties = Object.fromEntries(
      Object.entries(env).map(([variable, value]) => [propertyName(variable), String(value)]),
    );
    for (const key of keys) assert.equal(properties[key], local[key], `${name}: ${key}`);
  }
  assert.equal(local["default.replication.factor"], "3");
  assert.equal(local["min.insync.replicas"], "2");
});

Deno.test("each node is reached inside the network by its name and from the host on the local cluster's address", () => {
  const local = clusterPorts(3);
  for (const [i, { name, service, env }] of nodes.entries()) {
    const advertised = String(env.KAFKA_ADVERTISED_LISTENERS).split(",");
    assert.ok(advertised.includes(`INTERNAL://${name}:19092`), `${name}: ${advertised}`);
    assert.ok(advertised.includes(`HOST://127.0.0.1:${local[i].port}`), `${name}: ${advertised}`);
    const ports = (service.ports ?? []).map((spec) => parsePort(interpolateDefaults(spec)));
    assert.deepEqual(ports, [{
      hostIp: "127.0.0.1",
      hostPort: String(local[i].port),
      container: "9092",
    }]);
    assert.match(String(env.KAFKA_LISTENERS), /HOST:\/\/:9092/);
  }
});

Deno.test("each node keeps its log in a volume of its own, declared at the top level", () => {
  const sources = nodes.map(({ service }) => {
    const [volume] = (service.volumes ?? []).map(parseVolume);
    assert.equal(volume.target, "/var/lib/kafka/data");
    return volume.source;
  });
  assert.equal(new Set(sources).size, 3);
  for (const source of sources) assert.ok(compose.volumes && source in compose.volumes, source);
  assert.ok(!sources.includes("kafka-data"), "the single broker's volume is not shared");
});

Deno.test("compose itself accepts the file with the cluster profile on", async (t) => {
  const command = await composeCommand();
  if (!command) {
    console.error("SKIPPED: neither `docker compose` nor `docker-compose` is installed");
    await t.step({ name: "compose validation (no compose installed)", ignore: true, fn() {} });
    return;
  }
  const result = await composeConfig(command, { repoRoot: REPO_ROOT, profiles: ["cluster"] });
  assert.equal(result.success, true, result.stderr);
  assert.doesNotMatch(result.stderr, /WARN|not set/i);
  const resolved = parse(result.stdout) as {
    services: Record<string, { environment: Record<string, unknown> }>;
  };
  for (const name of NODES) {
    assert.ok(name in resolved.services, `${name} missing`);
    assert.equal(String(resolved.services[name].environment.KAFKA_NODE_ID), name.slice(-1));
  }
});
