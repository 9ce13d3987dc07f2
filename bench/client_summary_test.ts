import assert from "node:assert/strict";
import {
  allEqual,
  type ClientRun,
  median,
  renderSummaryTable,
  runProblem,
  summarizeRuns,
} from "./client_summary.ts";

function run(overrides: Partial<ClientRun>): ClientRun {
  return {
    mode: "produce",
    client: "platformatic",
    repetition: 1,
    topic: "t",
    expected: 1_000,
    count: 1_000,
    delivered: 1_000,
    elapsedMs: 10,
    cpuMs: 5,
    load: { load1Before: 1, load1After: 1.5, brokerCpuMs: 2 },
    extra: {},
    ...overrides,
  };
}

Deno.test("a run is fine only when acknowledged, stored and read counts are all N", () => {
  assert.equal(runProblem(run({})), undefined);
  assert.equal(runProblem(run({ count: 999 })), "acknowledged 999 of 1000");
  assert.equal(runProblem(run({ mode: "drain", count: 1_001 })), "read 1001 of 1000");
  assert.equal(
    runProblem(run({ delivered: 1_002 })),
    "the topic's end offsets hold 1002 messages, not 1000",
  );
  assert.equal(
    runProblem(run({ error: "NotCapable: Requires env access" })),
    "NotCapable: Requires env access",
  );
  assert.equal(runProblem(run({ elapsedMs: NaN })), "the timed span is NaN ms");
});

Deno.test("summaries give rates over verified runs only and list the failed ones", () => {
  const summaries = summarizeRuns([
    run({ repetition: 1, elapsedMs: 10 }),
    run({ repetition: 2, elapsedMs: 5 }),
    run({ repetition: 3, delivered: 2_000 }),
    run({ repetition: 4, elapsedMs: 20, load: { load1Before: 3.5, load1After: 2 } }),
    run({ client: "kafkajs", elapsedMs: 100, extra: { peakRssMiB: 120.4 } }),
  ]);
  assert.equal(summaries.length, 2);
  const [platformatic, kafkajs] = summaries;
  assert.deepEqual(platformatic.rates, [100_000, 200_000, 50_000]);
  assert.equal(platformatic.median, 100_000);
  assert.equal(platformatic.min, 50_000);
  assert.equal(platformatic.max, 200_000);
  assert.equal(platformatic.verified, 3);
  assert.equal(platformatic.runs, 4);
  assert.equal(platformatic.clientCpuUsPerMessage, 5);
  assert.equal(platformatic.brokerCpuUsPerMessage, 2, "runs without broker CPU are left out");
  assert.equal(platformatic.maxLoad1, 3.5);
  assert.deepEqual(platformatic.problems, [
    "repetition 3: the topic's end offsets hold 2000 messages, not 1000",
  ]);
  assert.equal(kafkajs.median, 10_000);
  assert.equal(kafkajs.peakRssMiB, 120.4);
  assert.ok(Number.isNaN(platformatic.peakRssMiB), "no run reported its memory");
  const table = renderSummaryTable(summaries);
  assert.match(
    table,
    /produce\s+platformatic\s+3\/4\s+100,000\s+50,000\s+200,000\s+100,000 200,000 50,000/,
  );
  assert.match(
    table,
    /Failed runs:\n {2}produce platformatic, repetition 3: the topic's end offsets/,
  );
});

Deno.test("a client whose every run failed has no rate but still a row", () => {
  const [summary] = summarizeRuns([run({ error: "boom" })]);
  assert.equal(summary.verified, 0);
  assert.ok(Number.isNaN(summary.median));
  assert.match(renderSummaryTable([summary]), /0\/1\s+NaN/);
});

Deno.test("the median of an even count is the mean of the middle two", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("equality of digests and partition counts is checked by value", () => {
  assert.equal(allEqual([[1, 2], [1, 2]]), true);
  assert.equal(allEqual([[1, 2], [2, 1]]), false);
  assert.equal(allEqual([]), true);
});
