import assert from "node:assert/strict";
import { Random, randomHex64, randomUuid } from "./random.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("the same seed and stream give the same numbers", () => {
  const a = new Random(42, 3);
  const b = new Random(42, 3);
  assert.deepEqual(
    Array.from({ length: 100 }, () => a.uint32()),
    Array.from({ length: 100 }, () => b.uint32()),
  );
});

Deno.test("other seeds, other streams and seeds above 2^32 give other numbers", () => {
  const first = (random: Random) => Array.from({ length: 8 }, () => random.uint32()).join();
  const seen = new Set([
    first(new Random(42, 0)),
    first(new Random(43, 0)),
    first(new Random(42, 1)),
    first(new Random(42 + 2 ** 32, 0)),
  ]);
  assert.equal(seen.size, 4);
});

Deno.test("floats, exponentials and geometrics have the expected means", () => {
  const random = new Random(7);
  const n = 200_000;
  let floats = 0, exponentials = 0, geometrics = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const f = random.float();
    floats += f;
    min = Math.min(min, f);
    max = Math.max(max, f);
    exponentials += random.exponential();
    geometrics += random.geometric(12);
  }
  assert.ok(min >= 0 && max < 1);
  assert.ok(Math.abs(floats / n - 0.5) < 0.005, `float mean ${floats / n}`);
  assert.ok(Math.abs(exponentials / n - 1) < 0.01, `exponential mean ${exponentials / n}`);
  assert.ok(Math.abs(geometrics / n - 12) < 0.15, `geometric mean ${geometrics / n}`);
  assert.equal(random.geometric(1), 1);
});

Deno.test("below(n) covers 0..n-1 evenly", () => {
  const random = new Random(1);
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 50_000; i++) counts[random.below(5)]++;
  for (const count of counts) assert.ok(Math.abs(count - 10_000) < 400, String(counts));
});

Deno.test("random UUIDs are version-4 shaped, distinct and reproducible", () => {
  const a = new Random(9);
  const ids = Array.from({ length: 10_000 }, () => randomUuid(a));
  for (const id of ids) assert.match(id, UUID);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(randomUuid(new Random(9)), ids[0]);
  assert.match(randomHex64(a), /^[0-9a-f]{16}$/);
});
