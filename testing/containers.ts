/**
 * Testcontainers path of the test fixtures, loaded only when a Docker engine
 * answers (never on machines without one, so it is checked by type only there).
 */
import { GenericContainer, Wait } from "testcontainers";
import { freePort } from "./fault_processes.ts";

/** Images used when tests start their own containers. */
export const TEST_IMAGES = {
  kafka: "apache/kafka:3.9.1",
  postgres: "postgres:17.6-bookworm",
} as const;

/** Starts Kafka and PostgreSQL containers for this test run; the reaper removes them at exit. */
export async function startContainers(): Promise<{ brokers: string[]; databaseUrl: string }> {
  // A fixed host port: the broker advertises it, so it must be known before the container starts.
  const kafkaPort = freePort();
  const [, pg] = await Promise.all([
    new GenericContainer(TEST_IMAGES.kafka)
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer(TEST_IMAGES.postgres)
      .withExposedPorts(5432)
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start(),
  ]);
  // Not stopped in an "unload" listener: Deno fires it after each test module, which would pull the
  // containers from under the next module. Testcontainers' reaper (Ryuk) removes them when this
  // process exits.
  return {
    brokers: [`localhost:${kafkaPort}`],
    databaseUrl: `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`,
  };
}
