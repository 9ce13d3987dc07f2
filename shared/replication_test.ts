import assert from "node:assert/strict";
import { readConfig } from "./config.ts";
import {
  AUTO_REPLICATION,
  ReplicationError,
  replicationFor,
  replicationSettings,
  replicationShortfall,
} from "./replication.ts";

Deno.test("auto replication follows the cluster: one copy on one broker, three copies and two in sync from three brokers up", () => {
  assert.deepEqual(replicationFor(1, AUTO_REPLICATION), {
    replicationFactor: 1,
    minInsyncReplicas: 1,
  });
  assert.deepEqual(replicationFor(2, AUTO_REPLICATION), {
    replicationFactor: 2,
    minInsyncReplicas: 2,
  });
  for (const brokers of [3, 5, 12]) {
    assert.deepEqual(replicationFor(brokers, AUTO_REPLICATION), {
      replicationFactor: 3,
      minInsyncReplicas: 2,
    });
  }
});

Deno.test("explicit counts are kept, and auto in-sync replicas never exceed an explicit replication factor", () => {
  assert.deepEqual(replicationFor(3, { replicationFactor: 2, minInsyncReplicas: 1 }), {
    replicationFactor: 2,
    minInsyncReplicas: 1,
  });
  assert.deepEqual(replicationFor(5, { replicationFactor: 1, minInsyncReplicas: "auto" }), {
    replicationFactor: 1,
    minInsyncReplicas: 1,
  });
  assert.deepEqual(replicationFor(5, { replicationFactor: "auto", minInsyncReplicas: 3 }), {
    replicationFactor: 3,
    minInsyncReplicas: 3,
  });
});

Deno.test("more copies than live brokers, or more in sync than copies, is refused with the values and the limit", () => {
  assert.throws(
    () => replicationFor(1, { replicationFactor: 3, minInsyncReplicas: "auto" }),
    (error: Error) =>
      error instanceof ReplicationError &&
      error.message.includes('"--replication-factor" is 3') &&
      error.message.includes("has 1 live broker;") && error.message.includes("at most 1"),
  );
  assert.throws(
    () => replicationFor(3, { replicationFactor: 2, minInsyncReplicas: 3 }),
    (error: Error) =>
      error instanceof ReplicationError &&
      error.message.includes('"--min-insync-replicas" is 3') &&
      error.message.includes("every write would fail") && error.message.includes("at most 2"),
  );
  assert.throws(() => replicationFor(0, AUTO_REPLICATION), ReplicationError);
});

Deno.test("an existing topic with fewer copies or fewer in-sync replicas than new ones get is named as a shortfall", () => {
  const wanted = { replicationFactor: 3, minInsyncReplicas: 2 };
  assert.match(
    replicationShortfall({ replicationFactor: 1, minInsyncReplicas: 1 }, wanted)!,
    /1 replica\(s\) where new topics get 3/,
  );
  assert.match(
    replicationShortfall({ replicationFactor: 3, minInsyncReplicas: 1 }, wanted)!,
    /min.insync.replicas is 1 where new topics get 2/,
  );
  assert.equal(
    replicationShortfall({ replicationFactor: 3, minInsyncReplicas: 2 }, wanted),
    undefined,
  );
  assert.equal(replicationShortfall({ replicationFactor: 3 }, wanted), undefined);
});

Deno.test("the replication settings read auto or a whole number from flags and variables, and say what is allowed", () => {
  const program = { name: "demo", summary: "demo", settings: replicationSettings };
  const defaults = readConfig(program, { args: [], env: {} });
  assert.deepEqual(defaults, {
    kind: "config",
    config: { replicationFactor: "auto", minInsyncReplicas: "auto" },
  });
  const set = readConfig(program, {
    args: ["--replication-factor", "2"],
    env: { KAFKA_MIN_INSYNC_REPLICAS: "1" },
  });
  assert.deepEqual(set, { kind: "config", config: { replicationFactor: 2, minInsyncReplicas: 1 } });
  const bad = readConfig(program, { args: ["--replication-factor", "three"], env: {} });
  assert.equal(bad.kind, "error");
  assert.equal(
    bad.kind === "error" && bad.error.message,
    'Cannot read config: "--replication-factor" must be "auto" or a whole number from 1 to 32 ' +
      '(at most the live brokers): current value is "three"',
  );
  assert.equal(
    readConfig(program, { args: ["--min-insync-replicas", "0"], env: {} }).kind,
    "error",
  );
});
