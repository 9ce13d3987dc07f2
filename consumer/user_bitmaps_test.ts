import assert from "node:assert/strict";
import { CHUNK_USERS, minuteBitmaps, usersOf } from "./user_bitmaps.ts";

Deno.test("each minute's users become bits of their chunk, most significant bit first", () => {
  const counts = {
    users: ["a", "b", "a", "c"],
    minutes: [120, 60, 60, 60],
    types: ["view", "view", "click", "view"],
    counts: [1, 1, 1, 1],
  };
  const numbers = new Map([["a", 0], ["b", 9], ["c", CHUNK_USERS + 1]]);
  const bitmaps = minuteBitmaps(counts, numbers);
  assert.deepEqual(bitmaps.minutes, [60, 60, 120]);
  assert.deepEqual(bitmaps.chunks, [0, 1, 0]);
  const bits = (hex: string) =>
    [...hex].map((digit) => parseInt(digit, 16).toString(2).padStart(4, "0")).join("");
  const set = (hex: string) => [...bits(hex)].flatMap((bit, i) => bit === "1" ? [i] : []);
  assert.deepEqual(set(bitmaps.bits[0]), [0, 9], "a and b in minute 60, chunk 0");
  assert.deepEqual(set(bitmaps.bits[1]), [1], "c is bit 1 of chunk 1");
  assert.deepEqual(set(bitmaps.bits[2]), [0], "a in minute 120");
  assert.ok(bitmaps.bits.every((hex) => hex.length === CHUNK_USERS / 4));
  assert.deepEqual(usersOf(counts), new Set(["a", "b", "c"]));
  assert.throws(() => minuteBitmaps(counts, new Map()), /has no number/);
});
