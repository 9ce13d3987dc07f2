import assert from "node:assert/strict";
import type { BenchReport } from "./report_file.ts";
import { ReportFile } from "./report_file.ts";
import { type LoadProbe, runPhase } from "./phase_runner.ts";

const shares = { busy: 40, idle: 55, iowait: 0, steal: 5 };
const probe: LoadProbe = {
  load1: () => 1.5,
  sampleCpu: () => Promise.resolve(shares),
  measureCpu: () => () => shares,
};

async function readReport(path: string): Promise<BenchReport> {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("each phase's figures and load are on disk before the next phase starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const report = new ReportFile(`${dir}/bench.json`, {
      machine: { cores: 2 },
      settings: {},
      startedAt: new Date().toISOString(),
    });
    await report.start();
    assert.equal((await readReport(report.path)).status, "running");
    const printed: string[] = [];
    const options = { report, probe, print: (text: string) => printed.push(text) };
    await runPhase({
      phase: "drain",
      run: () =>
        Promise.resolve({
          figures: [{ phase: "drain", name: "rate", value: 70_000, unit: "events/s" }],
          details: { profile: { flushes: 3 } },
        }),
    }, options);
    let seenByNextPhase: BenchReport | undefined;
    await runPhase({
      phase: "backlog",
      run: async () => {
        seenByNextPhase = await readReport(report.path);
        // The run is stopped here (a kill, a timeout): only the report file remains.
        return { figures: [] };
      },
    }, options);
    assert.ok(seenByNextPhase);
    assert.equal(seenByNextPhase.status, "running");
    assert.deepEqual(seenByNextPhase.phases.map((record) => record.phase), ["drain"]);
    assert.deepEqual(seenByNextPhase.figures.map((figure) => figure.value), [70_000]);
    assert.deepEqual(seenByNextPhase.phases[0].details, { profile: { flushes: 3 } });
    assert.deepEqual(seenByNextPhase.phases[0].load, {
      load1Before: 1.5,
      load1After: 1.5,
      cpuBefore: shares,
      cpuDuring: shares,
    });
    assert.match(
      printed[0],
      /# drain: .* load average \(1 min\) 1\.5 → 1\.5; CPU before: busy 40 %/,
    );
    assert.match(printed[0], /drain\s+rate\s+70,000\s+events\/s/);
    await report.finish("interrupted", { phase: "live" });
    const final = await readReport(report.path);
    assert.equal(final.status, "interrupted");
    assert.equal(final.interruptedIn, "live");
    assert.equal(final.phases.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing phase is recorded with its error and the next phase still runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const report = new ReportFile(`${dir}/bench.json`, {
      machine: {},
      settings: {},
      startedAt: new Date().toISOString(),
    });
    const options = { report, probe, print: () => {} };
    const failed = await runPhase({
      phase: "drain",
      run: () => Promise.reject(new Error("drain did not finish in 10 min")),
    }, options);
    assert.equal(failed.error, "drain did not finish in 10 min");
    await runPhase({ phase: "live", run: () => Promise.resolve({ figures: [] }) }, options);
    const onDisk = await readReport(report.path);
    assert.deepEqual(onDisk.phases.map((record) => [record.phase, record.error]), [
      ["drain", "drain did not finish in 10 min"],
      ["live", undefined],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
