import assert from "node:assert/strict";
import { VirtualClock } from "../testing/virtual_clock.ts";
import { KafkaDeadlineError } from "./kafka_deadline.ts";
import { TopicIdLookupError } from "./kafka_topic_ids.ts";
import {
  backoffDelayMs,
  classifyDatabaseError,
  classifyKafkaError,
  isConnectionError,
  isKafkaError,
  retryWithBackoff,
} from "./retry.ts";

Deno.test("retries back off by doubling from 100 ms up to a cap, the upper half of each wait random", () => {
  const lowest = [1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n, { random: () => 0 }));
  assert.deepEqual(lowest, [50, 100, 200, 400, 800, 1600, 2500, 2500]);
  const highest = [1, 2, 3, 7, 50].map((n) => backoffDelayMs(n, { random: () => 0.9999999 }));
  assert.deepEqual(highest, [100, 200, 400, 5000, 5000]);
  assert.equal(backoffDelayMs(3, { capMs: 250, random: () => 1 }), 250);
});

Deno.test("connection failures are told apart from statements the server refused", () => {
  assert.ok(isConnectionError({ code: "ECONNREFUSED" }));
  assert.ok(isConnectionError({ code: "CONNECTION_CLOSED" }));
  assert.ok(isConnectionError({ code: "57P01", severity: "FATAL" }));
  assert.ok(isConnectionError({ code: "57P03", severity: "FATAL" }));
  assert.ok(isConnectionError({ code: "08006", severity: "FATAL" }));
  assert.ok(!isConnectionError({ code: "42P01", severity: "ERROR" }));
  assert.ok(!isConnectionError(new Error("no code")));
  assert.ok(!isConnectionError("text"));
});

Deno.test("database errors are sorted into wait, retry and someone-must-act", () => {
  const kind = (error: unknown) => classifyDatabaseError(error).kind;
  assert.equal(kind({ code: "ECONNREFUSED" }), "unreachable");
  assert.equal(kind({ code: "57014", severity: "ERROR" }), "transient", "statement timeout");
  assert.equal(kind({ code: "40P01", severity: "ERROR" }), "transient", "deadlock");
  assert.equal(kind({ code: "53300", severity: "FATAL" }), "transient", "too many connections");
  assert.equal(kind({ code: "42501", severity: "ERROR" }), "permanent", "permission denied");
  assert.equal(kind({ code: "22021", severity: "ERROR" }), "permanent", "bad bytes");
  assert.equal(kind(new Error("a bug")), "permanent");
});

Deno.test("Kafka errors follow the client's own retriable flag", () => {
  const kind = (error: unknown) => classifyKafkaError(error).kind;
  assert.equal(kind({ name: "KafkaJSConnectionError", retriable: true }), "unreachable");
  assert.equal(
    kind({ name: "KafkaJSProtocolError", type: "MESSAGE_TOO_LARGE", retriable: false }),
    "permanent",
  );
  assert.equal(
    kind({ name: "KafkaJSProtocolError", type: "LEADER_NOT_AVAILABLE", retriable: true }),
    "transient",
  );
});

Deno.test("the consumer's own Kafka errors are told apart from database errors and mean Kafka is unreachable", () => {
  for (
    const error of [
      new KafkaDeadlineError('the offsets of topic "t"', 15_000),
      new TopicIdLookupError('Cannot look up the ids of topics ["t"]: no broker answered'),
    ]
  ) {
    assert.ok(isKafkaError(error), `${error.name} is a Kafka error`);
    assert.deepEqual(classifyKafkaError(error), {
      kind: "unreachable",
      code: error.name,
      summary: error.message,
    });
  }
  assert.ok(!isKafkaError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })));
});

Deno.test("retryWithBackoff waits between retryable failures, throws the others and ends on abort", async () => {
  const clock = new VirtualClock();
  const retries: number[] = [];
  let calls = 0;
  const result = retryWithBackoff((attempt) => {
    calls++;
    return attempt < 3 ? Promise.reject(new Error("down")) : Promise.resolve("up");
  }, {
    clock,
    random: () => 0,
    retryable: () => true,
    onRetry: (_, info) => retries.push(info.delayMs),
  });
  await clock.advance(150);
  assert.equal(await result, "up");
  assert.deepEqual([calls, retries], [3, [50, 100]]);

  await assert.rejects(
    retryWithBackoff(() => Promise.reject(new Error("permission denied")), {
      clock,
      retryable: () => false,
    }),
    /permission denied/,
  );

  const stop = new AbortController();
  const endless = retryWithBackoff(() => Promise.reject(new Error("down")), {
    clock,
    signal: stop.signal,
    retryable: () => true,
  });
  await clock.advance(1_000);
  stop.abort();
  assert.equal(await endless, undefined);
});
