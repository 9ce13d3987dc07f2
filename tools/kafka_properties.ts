/**
 * The `server.properties` of a local KRaft node, single or one of a cluster
 * (pure). Every node is broker and controller at once (combined mode), the
 * controllers form a static quorum, and the cluster-wide replication follows
 * the same rule as the topics the programs create (`replicationFor`): one
 * copy on one node; three copies, two in sync, from three nodes up.
 */
import { AUTO_REPLICATION, replicationFor } from "@activity/shared";

/** One node of a local cluster: its id and where it listens. */
export interface KafkaNodeAddress {
  readonly nodeId: number;
  readonly port: number;
  readonly controllerPort: number;
}

/** What a node's properties are made from. */
export interface KafkaNodeSpec extends KafkaNodeAddress {
  readonly dataDir: string;
  /** Every node of the cluster, this one included (one entry for a single node). */
  readonly quorum: readonly KafkaNodeAddress[];
  /** Extra or overriding properties (tests shorten failure detection). */
  readonly overrides?: Readonly<Record<string, string>>;
}

/** `controller.quorum.voters` for these nodes: `id@127.0.0.1:port,...`. */
export function quorumVoters(quorum: readonly KafkaNodeAddress[]): string {
  return [...quorum].sort((a, b) => a.nodeId - b.nodeId)
    .map((node) => `${node.nodeId}@127.0.0.1:${node.controllerPort}`).join(",");
}

/** The properties as `key=value` lines. */
export function kafkaNodeProperties(spec: KafkaNodeSpec): string {
  if (!spec.quorum.some((node) => node.nodeId === spec.nodeId)) {
    throw new Error(`node ${spec.nodeId} is not in its own quorum ${quorumVoters(spec.quorum)}`);
  }
  const { replicationFactor, minInsyncReplicas } = replicationFor(
    spec.quorum.length,
    AUTO_REPLICATION,
  );
  const properties: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": String(spec.nodeId),
    "controller.quorum.voters": quorumVoters(spec.quorum),
    "listeners": `PLAINTEXT://127.0.0.1:${spec.port},CONTROLLER://127.0.0.1:${spec.controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${spec.port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "log.dirs": spec.dataDir,
    "num.partitions": "6",
    "default.replication.factor": String(replicationFactor),
    "min.insync.replicas": String(minInsyncReplicas),
    "offsets.topic.replication.factor": String(replicationFactor),
    // One partition: a faster first group join (local use and tests only).
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": String(replicationFactor),
    "transaction.state.log.min.isr": String(minInsyncReplicas),
    // An out-of-sync replica never becomes leader: acknowledged writes are never lost.
    "unclean.leader.election.enable": "false",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "log.retention.hours": "24",
    ...spec.overrides,
  };
  return Object.entries(properties).map(([key, value]) => `${key}=${value}`).join("\n") + "\n";
}
