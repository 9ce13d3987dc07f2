import assert from "node:assert/strict";
import { readConfig } from "@activity/shared";
import { type BenchConfig, benchProgram, HALF_DRAIN, phasePlanProblem } from "./settings.ts";

function read(args: string[]): BenchConfig {
  const outcome = readConfig(benchProgram, { args, env: {} });
  if (outcome.kind !== "config") throw new Error(JSON.stringify(outcome));
  return outcome.config;
}

Deno.test("by default every phase runs, both backlog shapes, live at half the drain rate", () => {
  const config = read([]);
  assert.deepEqual(config.phases, ["producer", "drain", "backlog", "live", "dashboard"]);
  assert.deepEqual(config.backlogShapes, ["canonical", "legacy"]);
  assert.deepEqual(config.liveRates, [HALF_DRAIN]);
  assert.equal(config.backlogMinutes, 60);
  assert.equal(phasePlanProblem(config), undefined);
});

Deno.test("live rates mix fixed rates with half the drain rate; anything else is refused", () => {
  assert.deepEqual(read(["--live-rates", "2000, half-drain"]).liveRates, [2000, HALF_DRAIN]);
  for (const bad of ["0", "fast", "2000,", "1.5"]) {
    const outcome = readConfig(benchProgram, { args: ["--live-rates", bad], env: {} });
    assert.equal(outcome.kind, "error", bad);
    if (outcome.kind === "error") assert.match(outcome.error.message, /"--live-rates" must be/);
  }
});

Deno.test("phases that need another phase's result are refused without it", () => {
  assert.match(phasePlanProblem(read(["--phases", "drain"]))!, /drain without producer/);
  assert.match(
    phasePlanProblem(read(["--phases", "producer,live"]))!,
    /"--live-rates" half-drain needs the drain phase/,
  );
  assert.equal(phasePlanProblem(read(["--phases", "live", "--live-rates", "2000"])), undefined);
  assert.equal(phasePlanProblem(read(["--phases", "backlog,dashboard"])), undefined);
});
