import assert from "node:assert/strict";
import { parseServicesCommand } from "./services.ts";
import { clusterPorts, MAX_LOCAL_BROKERS } from "./kafka_cluster.ts";

Deno.test("services start one broker by default and a cluster with --brokers", () => {
  assert.deepEqual(parseServicesCommand(["start"]), { kind: "start", brokers: 1, fresh: false });
  assert.deepEqual(parseServicesCommand(["start", "--brokers", "3", "--fresh"]), {
    kind: "start",
    brokers: 3,
    fresh: true,
  });
  assert.deepEqual(parseServicesCommand(["stop"]), { kind: "stop", brokers: undefined });
  assert.deepEqual(parseServicesCommand(["stop", "--brokers=3"]), { kind: "stop", brokers: 3 });
  assert.deepEqual(parseServicesCommand(["status"]), { kind: "status", brokers: 1 });
  assert.deepEqual(parseServicesCommand(["status", "--brokers", "3"]), {
    kind: "status",
    brokers: 3,
  });
});

Deno.test("a bad broker count, an unknown command or --fresh outside start is a usage error that says why", () => {
  const bad = parseServicesCommand(["start", "--brokers", "three"]);
  assert.equal(bad.kind, "usage");
  assert.equal(
    bad.kind === "usage" && bad.problem,
    `"--brokers" must be a whole number from 1 to ${MAX_LOCAL_BROKERS}: current value is "three"`,
  );
  assert.equal(parseServicesCommand(["start", "--brokers", "0"]).kind, "usage");
  assert.equal(parseServicesCommand(["start", "--brokers", "6"]).kind, "usage");
  assert.equal(parseServicesCommand(["restart"]).kind, "usage");
  assert.equal(parseServicesCommand(["stop", "--fresh"]).kind, "usage");
  assert.equal(parseServicesCommand(["status", "--fresh"]).kind, "usage");
  assert.equal(parseServicesCommand(["start", "--verbose"]).kind, "usage");
  assert.deepEqual(parseServicesCommand([]), { kind: "usage", problem: undefined });
});

Deno.test("cluster nodes get their own ports, clear of the single broker's and of each other", () => {
  const nodes = clusterPorts(3);
  assert.deepEqual(nodes.map((node) => [node.nodeId, node.port, node.controllerPort]), [
    [1, 9192, 9193],
    [2, 9292, 9293],
    [3, 9392, 9393],
  ]);
  const ports = clusterPorts(MAX_LOCAL_BROKERS).flatMap((node) => [node.port, node.controllerPort]);
  assert.equal(new Set([...ports, 9092, 9093]).size, ports.length + 2);
  assert.throws(() => clusterPorts(1), /must be 2 to 5/);
});
