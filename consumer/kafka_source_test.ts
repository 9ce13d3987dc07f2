import assert from "node:assert/strict";
import type { Rejection } from "./aggregate.ts";
import { deadLetterRequests } from "./kafka_source.ts";

function rejection(valueBytes: number, offset: number): Rejection {
  return {
    reason: "too_large",
    detail: "too big",
    topic: "t",
    partition: 0,
    offset: String(offset),
    timestampMs: 0,
    key: null,
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
