import assert from "node:assert/strict";
import { createPopulation } from "./population.ts";
import { Random } from "./random.ts";

function sample(users: number, skew: number, draws: number) {
  const population = createPopulation({ users, skew, random: new Random(1) });
  const counts = new Float64Array(users);
  const random = new Random(2);
  for (let i = 0; i < draws; i++) counts[population.pick(random)]++;
  return { population, counts };
}

Deno.test("user ids are user_1..user_N, each once, shuffled by the seed", () => {
  const { population } = sample(1000, 1, 0);
  assert.equal(new Set(population.ids).size, 1000);
  assert.deepEqual(
    [...population.ids].sort(),
    Array.from({ length: 1000 }, (_, i) => `user_${i + 1}`).sort(),
  );
  assert.notEqual(population.ids[0], "user_1");
  const again = createPopulation({ users: 1000, skew: 1, random: new Random(1) });
  assert.deepEqual(again.ids, population.ids);
});

Deno.test("with skew 1 each rank's share follows Zipf's law within 5% for the top ranks", () => {
  const draws = 400_000;
  const { population, counts } = sample(1000, 1, draws);
  // Expected share of rank r is (1/(r+1)) / H(1000), H(1000) ≈ 7.485.
  assert.ok(Math.abs(population.shares[0] - 1 / 7.4855) < 1e-3);
  for (const rank of [0, 1, 2, 9, 49]) {
    const expected = population.shares[rank] * draws;
    const ratio = counts[rank] / expected;
    assert.ok(Math.abs(ratio - 1) < 0.05, `rank ${rank}: ${counts[rank]} vs ${expected}`);
  }
});

Deno.test("with skew 1 a few heavy users dominate and the tail is long", () => {
  const draws = 400_000;
  const { counts } = sample(1000, 1, draws);
  const sorted = [...counts].sort((a, b) => b - a);
  const top1Percent = sorted.slice(0, 10).reduce((a, b) => a + b, 0) / draws;
  const bottomHalf = sorted.slice(500).reduce((a, b) => a + b, 0) / draws;
  // Zipf(1) over 1000 users: top 10 ≈ 39 %, bottom 500 ≈ 9 %.
  assert.ok(top1Percent > 0.36 && top1Percent < 0.42, `top 1% share ${top1Percent}`);
  assert.ok(bottomHalf > 0.07 && bottomHalf < 0.11, `bottom half share ${bottomHalf}`);
  assert.ok(counts.every((count) => count > 0), "every user acts at least once");
});

Deno.test("with skew 0 every user is equally active (within 10%)", () => {
  const { counts } = sample(100, 0, 200_000);
  for (const count of counts) assert.ok(Math.abs(count - 2000) < 200, String(count));
});
