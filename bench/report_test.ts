import assert from "node:assert/strict";
import {
  describePhase,
  formatNumber,
  meetsTarget,
  percentile,
  renderTable,
  targetSummary,
} from "./report.ts";

Deno.test("a minimum target is met at or above it and missed below", () => {
  const base = { phase: "drain", name: "rate", unit: "events/s" };
  assert.equal(meetsTarget({ ...base, value: 100, target: { kind: "min", value: 100 } }), true);
  assert.equal(meetsTarget({ ...base, value: 99, target: { kind: "min", value: 100 } }), false);
  assert.equal(meetsTarget({ ...base, value: 3, target: { kind: "max", value: 2 } }), false);
  assert.equal(meetsTarget({ ...base, value: 3 }), undefined);
  assert.equal(meetsTarget({ ...base, value: 3, target: { kind: "equal", value: 3 } }), true);
  assert.equal(meetsTarget({ ...base, value: 4, target: { kind: "equal", value: 3 } }), false);
});

Deno.test("the table aligns columns and says which targets were not met", () => {
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
  assert.match(lines[3], /live\s+p99\s+2\.5\s+s\s+≤ 2\s+NOT MET$/);
});

Deno.test("a phase's note stands above its first row and the summary names what was not met", () => {
  const figures = [
    { phase: "drain", name: "a", value: 1, unit: "" },
    { phase: "drain", name: "share", value: 13, unit: "%", target: { kind: "min", value: 25 } },
    { phase: "live", name: "p99", value: 1, unit: "s", target: { kind: "max", value: 2 } },
  ] as const;
  const record = {
    phase: "drain",
    startedAt: "2026-01-01T00:00:00Z",
    seconds: 12.34,
    load: {
      load1Before: 1.2,
      load1After: 2.5,
      cpuDuring: { busy: 97.4, idle: 1.6, iowait: 0, steal: 1 },
    },
    figures,
  };
  const note = describePhase(record);
  assert.equal(
    note,
    "drain: 12.3 s; load average (1 min) 1.2 → 2.5; CPU before: not measured; " +
      "during: busy 97 %, idle 2 %, steal 1 %",
  );
  const lines = renderTable(figures, new Map([["drain", note], ["live", "live note"]]))
    .split("\n");
  assert.deepEqual(lines.filter((line) => line.startsWith("# ")), [`# ${note}`, "# live note"]);
  assert.equal(lines.indexOf(`# ${note}`), 2);
  assert.equal(lines.indexOf("# live note"), 5);
  assert.equal(targetSummary(figures), "targets met: 1 of 2; not met: drain: share");
  assert.match(describePhase({ ...record, error: "boom" }), /; FAILED: boom$/);
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
