import assert from "node:assert/strict";
import { exitWithin, startCommand } from "./command_output.ts";

Deno.test("exitWithin gives the run of a program that exits in time", async () => {
  const run = await exitWithin(startCommand("sh", { args: ["-c", "echo no >&2; exit 3"] }), 10_000);
  assert.equal(run.code, 3);
  assert.equal(run.stderr, "no\n");
});

Deno.test("exitWithin kills a program that does not exit in time and fails with what it wrote", async () => {
  const started = performance.now();
  const program = startCommand("sh", { args: ["-c", "echo waiting >&2; exec sleep 60"] });
  await assert.rejects(
    () => exitWithin(program, 1_000),
    /had not exited after 1000 ms \(killed now\); its stderr:\nwaiting\n/,
  );
  assert.ok(performance.now() - started < 10_000, "it did not wait for the program");
  assert.equal((await program.finished).code, 137, "it was killed");
});
