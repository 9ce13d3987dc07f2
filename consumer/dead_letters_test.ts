import assert from "node:assert/strict";
import type { Rejection } from "./aggregate.ts";
import {
  DEAD_LETTER_LIMITS,
  deadLetterMessage,
  deadLetterPartition,
  deadLetterRequests,
  isCut,
  SMALL_DEAD_LETTER_LIMITS,
} from "./dead_letters.ts";

function rejection(valueBytes: number, offset: number, keyBytes = 0): Rejection {
  return {
    reason: "too_large",
    detail: "too big",
    topic: "t",
    partition: 4,
    offset: String(offset),
    timestampMs: 0,
    key: keyBytes === 0 ? null : new Uint8Array(keyBytes).fill(97),
    value: valueBytes === 0 ? null : new Uint8Array(valueBytes),
  };
}

Deno.test("large dead letters go in produce requests of their own, under the broker's limit", () => {
  const requests = deadLetterRequests([
    rejection(700_000, 0),
    rejection(650_000, 1),
    rejection(10, 2),
    rejection(2_000_000, 3),
  ]);
  assert.deepEqual(requests.map((request) => request.map((r) => r.offset)), [["0"], ["1", "2"], [
    "3",
  ]]);
});

Deno.test("small dead letters are sent a thousand to a request, in order", () => {
  const rejections = Array.from({ length: 2_500 }, (_, i) => rejection(i % 3 === 0 ? 0 : 20, i));
  const requests = deadLetterRequests(rejections);
  assert.deepEqual(requests.map((request) => request.length), [1_000, 1_000, 500]);
  assert.deepEqual(requests.flat(), rejections);
  assert.deepEqual(deadLetterRequests([]), []);
});

Deno.test("a megabyte key is cut like a large value, and the dead letter says what was cut", () => {
  const huge = rejection(2_000_000, 7, 4_000_000);
  const letter = deadLetterMessage(huge);
  assert.equal(letter.key?.length, DEAD_LETTER_LIMITS.keyBytes);
  assert.equal(letter.value?.length, DEAD_LETTER_LIMITS.valueBytes);
  assert.equal(letter.headers["truncated"], "true");
  assert.equal(letter.headers["original-key-bytes"], "4000000");
  assert.equal(letter.headers["original-bytes"], "2000000");
  assert.ok(isCut(huge));
  // A request holds what is sent: many such messages still make requests under the limit.
  const keyed = Array.from({ length: 100 }, (_, i) => rejection(10, i, 4_000_000));
  assert.equal(deadLetterRequests(keyed).length, 2);
  const small = deadLetterMessage(huge, SMALL_DEAD_LETTER_LIMITS);
  assert.equal(small.key?.length, 1024);
  assert.equal(small.value?.length, 16 * 1024);
});

Deno.test("a message within the bounds is sent whole and unmarked", () => {
  const plain = rejection(100, 1, 10);
  const letter = deadLetterMessage(plain);
  assert.equal(letter.key?.length, 10);
  assert.equal(letter.value?.length, 100);
  assert.equal(letter.headers["truncated"], undefined);
  assert.equal(letter.headers["source-partition"], "4");
  assert.ok(!isCut(plain));
});

Deno.test("dead letters follow their source partition and never hash the key", () => {
  const headers = deadLetterMessage(rejection(1, 1, 4_000_000)).headers;
  const started = performance.now();
  assert.equal(deadLetterPartition(headers, 3), 1);
  assert.equal(deadLetterPartition(headers, 1), 0);
  assert.ok(performance.now() - started < 50, "no work proportional to the key");
  assert.equal(deadLetterPartition({ "source-partition": "x" }, 3), 0);
  assert.equal(deadLetterPartition({}, 0), 0);
});
