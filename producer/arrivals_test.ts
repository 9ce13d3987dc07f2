import assert from "node:assert/strict";
import { averageRate, createArrivals } from "./arrivals.ts";
import { Random } from "./random.ts";

function times(count: number, options: Parameters<typeof createArrivals>[0]): number[] {
  const arrivals = createArrivals(options);
  return Array.from({ length: count }, () => arrivals.next());
}

function perSecond(values: number[]): number[] {
  const seconds = Math.floor(values[values.length - 1] / 1000);
  const counts = new Array(seconds).fill(0);
  for (const t of values) if (t < seconds * 1000) counts[Math.floor(t / 1000)]++;
  return counts;
}

Deno.test("events arrive at the target rate within 1% over 100 000 events", () => {
  const values = times(100_000, { ratePerSecond: 500, random: new Random(3) });
  const rate = values.length / (values[values.length - 1] / 1000);
  assert.ok(Math.abs(rate / 500 - 1) < 0.01, `measured ${rate}/s`);
  assert.ok(values.every((t, i) => i === 0 || t >= values[i - 1]), "times never decrease");
});

Deno.test("counts per second vary like a Poisson process (variance ≈ mean)", () => {
  const counts = perSecond(times(100_000, { ratePerSecond: 200, random: new Random(4) }));
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const variance = counts.reduce((sum, c) => sum + (c - mean) ** 2, 0) / counts.length;
  assert.ok(Math.abs(mean / 200 - 1) < 0.02, `mean ${mean}`);
  assert.ok(variance / mean > 0.8 && variance / mean < 1.2, `dispersion ${variance / mean}`);
  assert.ok(Math.min(...counts) < mean && Math.max(...counts) > mean, "irregular, not uniform");
});

Deno.test("bursts multiply the rate inside them and leave it alone outside", () => {
  const burst = { factor: 5, lengthMs: 10_000, everyMs: 60_000 };
  const values = times(200_000, { ratePerSecond: 100, burst, random: new Random(5) });
  const end = values[values.length - 1];
  const periods = Math.floor(end / 60_000);
  let inside = 0, outside = 0;
  for (const t of values) {
    if (t >= periods * 60_000) break;
    if (t % 60_000 < 10_000) inside++;
    else outside++;
  }
  const insideRate = inside / (periods * 10);
  const outsideRate = outside / (periods * 50);
  assert.ok(Math.abs(insideRate / 500 - 1) < 0.03, `inside ${insideRate}/s`);
  assert.ok(Math.abs(outsideRate / 100 - 1) < 0.03, `outside ${outsideRate}/s`);
  assert.ok(Math.abs(values.length / (end / 1000) / averageRate(100, burst) - 1) < 0.03);
  assert.equal(averageRate(100, burst), 100 * (1 + 4 / 6));
});
