import assert from "node:assert/strict";
import { kafkaNodeProperties, quorumVoters } from "./kafka_properties.ts";
import { clusterPorts } from "./kafka_cluster.ts";

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text.trim().split("\n").map((
      line,
    ) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

Deno.test("a single node is its own quorum with one copy of everything", () => {
  const node = { nodeId: 1, port: 9092, controllerPort: 9093 };
  const properties = parse(kafkaNodeProperties({ ...node, quorum: [node], dataDir: "/data" }));
  assert.equal(properties["controller.quorum.voters"], "1@127.0.0.1:9093");
  assert.equal(properties["listeners"], "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
  assert.equal(properties["advertised.listeners"], "PLAINTEXT://127.0.0.1:9092");
  for (const key of ["default.replication.factor", "offsets.topic.replication.factor"]) {
    assert.equal(properties[key], "1", key);
  }
  assert.equal(properties["min.insync.replicas"], "1");
  assert.equal(properties["transaction.state.log.min.isr"], "1");
  assert.equal(properties["log.dirs"], "/data");
});

Deno.test("each node of a three-node cluster names every voter, listens on its own ports and keeps three copies, two in sync", () => {
  const quorum = clusterPorts(3);
  const texts = quorum.map((node) =>
    parse(kafkaNodeProperties({ ...node, quorum, dataDir: `/data/${node.nodeId}` }))
  );
  const voters = "1@127.0.0.1:9193,2@127.0.0.1:9293,3@127.0.0.1:9393";
  for (const [i, properties] of texts.entries()) {
    assert.equal(properties["node.id"], String(i + 1));
    assert.equal(properties["controller.quorum.voters"], voters);
    assert.equal(
      properties["advertised.listeners"],
      `PLAINTEXT://127.0.0.1:${9092 + 100 * (i + 1)}`,
    );
    assert.equal(properties["default.replication.factor"], "3");
    assert.equal(properties["offsets.topic.replication.factor"], "3");
    assert.equal(properties["transaction.state.log.replication.factor"], "3");
    assert.equal(properties["min.insync.replicas"], "2");
    assert.equal(properties["transaction.state.log.min.isr"], "2");
    assert.equal(properties["unclean.leader.election.enable"], "false");
  }
  assert.equal(new Set(texts.map((properties) => properties["log.dirs"])).size, 3);
});

Deno.test("overrides win over the defaults, and a node outside its quorum is refused", () => {
  const quorum = clusterPorts(3);
  const properties = parse(kafkaNodeProperties({
    ...quorum[1],
    quorum,
    dataDir: "/d",
    overrides: { "broker.session.timeout.ms": "4000", "num.partitions": "3" },
  }));
  assert.equal(properties["broker.session.timeout.ms"], "4000");
  assert.equal(properties["num.partitions"], "3");
  assert.throws(
    () => kafkaNodeProperties({ nodeId: 9, port: 1, controllerPort: 2, quorum, dataDir: "/d" }),
    /node 9 is not in its own quorum/,
  );
  assert.equal(quorumVoters([quorum[2], quorum[0]]), "1@127.0.0.1:9193,3@127.0.0.1:9393");
});
