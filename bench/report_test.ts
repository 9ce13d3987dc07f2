import assert from "node:assert/strict";
import { formatNumber, meetsTarget, percentile, renderTable } from "./report.ts";

Deno.test("a minimum target is met at or above it and missed below", () => {
  const base = { phase: "drain", name: "rate", unit: "events/s" };
  assert.equal(meetsTarget({ ...base, value: 100, target: { kind: "min", value: 100 } }), true);
  assert.equal(meetsTarget({ ...base, value: 99, target: { kind: "min", value: 100 } }), false);
  assert.equal(meetsTarget({ ...base, value: 3, target: { kind: "max", value: 2 } }), false);
  assert.equal(meetsTarget({ ...base, value: 3 }), undefined);
  assert.equal(meetsTarget({ ...base, value: 3, target: { kind: "equal", value: 3 } }), true);
  assert.equal(meetsTarget({ ...base, value: 4, target: { kind: "equal", value: 3 } }), false);
});

Deno.test("the table aligns columns and marks missed targets", () => {
  const table = renderTable([
    {
      phase: "producer",
      name: "rate",
      value: 250_000,
      unit: "events/s",
      target: { kind: "min", value: 200_000 },
    },
    { phase: "live", name: "p99", value: 2.5, unit: "s", target: { kind: "max", value: 2 } },
  ]);
  const lines = table.split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[2], /producer\s+rate\s+250,000\s+events\/s\s+≥ 200,000\s+met$/);
  assert.match(lines[3], /live\s+p99\s+2\.5\s+s\s+≤ 2\s+MISSED$/);
});

Deno.test("percentiles use the nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile([7], 95), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(formatNumber(1234567.891), "1,234,568");
  assert.equal(formatNumber(0.01234), "0.012");
});
