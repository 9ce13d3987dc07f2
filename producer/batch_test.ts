import assert from "node:assert/strict";
import { REJECT_REASONS } from "@activity/shared";
import { OutgoingBatch, PER_MESSAGE_OVERHEAD } from "./batch.ts";

const VIEW = { typeIndex: 0 };
const CLICK = { typeIndex: 1 };

Deno.test("values are packed back to back and read back one by one with their keys", () => {
  const batch = new OutgoingBatch({ maxMessages: 10, maxBytes: 1000 }, 2);
  assert.ok(batch.add("user_1", '{"a":1}', VIEW));
  assert.ok(
    batch.add("user_2", new Uint8Array([0xff, 0x00]), { typeIndex: 1, malformed: "not_utf8" }),
  );
  assert.ok(batch.add("user_3", "", { typeIndex: 0, malformed: "empty" }));
  assert.ok(batch.add("user_1", "é", CLICK));
  assert.equal(batch.count, 4);
  assert.deepEqual(batch.keys, ["user_1", "user_2", "user_3", "user_1"]);
  assert.equal(new TextDecoder().decode(batch.value(0)), '{"a":1}');
  assert.deepEqual(batch.value(1), new Uint8Array([0xff, 0x00]));
  assert.equal(batch.value(2).length, 0);
  assert.equal(new TextDecoder().decode(batch.value(3)), "é");
  assert.equal(batch.values.length, 7 + 2 + 0 + 2);
  assert.deepEqual([...batch.typeCounts], [1, 1]);
  assert.equal(batch.malformedCounts[REJECT_REASONS.indexOf("not_utf8")], 1);
  assert.equal(batch.malformedCounts[REJECT_REASONS.indexOf("empty")], 1);
  assert.deepEqual(batch.countsByType(["view", "click"]), { view: 1, click: 1 });
});

Deno.test("a batch refuses messages beyond its message limit", () => {
  const batch = new OutgoingBatch({ maxMessages: 2, maxBytes: 1000 }, 1);
  assert.ok(batch.add("k", "a", VIEW));
  assert.equal(batch.full, false);
  assert.ok(batch.add("k", "b", VIEW));
  assert.equal(batch.full, true);
  assert.equal(batch.add("k", "c", VIEW), false);
  assert.equal(batch.count, 2);
});

Deno.test("a batch refuses messages beyond its byte limit and stays unchanged", () => {
  const perMessage = 10 + 1 + PER_MESSAGE_OVERHEAD;
  const batch = new OutgoingBatch({ maxMessages: 100, maxBytes: perMessage * 3 }, 1);
  for (let i = 0; i < 3; i++) assert.ok(batch.add("k", "x".repeat(10), VIEW));
  assert.equal(batch.add("k", "x".repeat(10), VIEW), false);
  assert.equal(batch.add("k", new Uint8Array(5000), VIEW), false);
  assert.equal(batch.count, 3);
  assert.equal(batch.size, perMessage * 3);
  assert.equal(batch.values.length, 30);
  assert.deepEqual([...batch.typeCounts], [3]);
});

Deno.test("an empty batch takes one message larger than its framing allowance", () => {
  const batch = new OutgoingBatch({ maxMessages: 10, maxBytes: 100 }, 1);
  assert.ok(batch.add("key", "y".repeat(90), VIEW));
  assert.equal(batch.add("key", "y", VIEW), false);
});

Deno.test("a batch grows as messages come, up to its limit, keeping what it holds", () => {
  const batch = new OutgoingBatch({ maxMessages: 10_000, maxBytes: 1_000_000 }, 1);
  const values = Array.from({ length: 3000 }, (_, i) => `{"i":${i},"pad":"${"p".repeat(200)}"}`);
  for (const value of values) assert.ok(batch.add("user_1", value, VIEW));
  assert.ok(
    batch.add("user_2", "ü".repeat(30_000), VIEW),
    "non-ASCII text larger than the room left",
  );
  assert.deepEqual(
    Array.from({ length: 3000 }, (_, i) => new TextDecoder().decode(batch.value(i))),
    values,
  );
  assert.equal(new TextDecoder().decode(batch.value(3000)), "ü".repeat(30_000));
  assert.ok(batch.size <= 1_000_000);
});
