import assert from "node:assert/strict";
import { sleep } from "./sleep.ts";

Deno.test("sleep ends early when its signal aborts", async () => {
  const controller = new AbortController();
  const started = Date.now();
  const sleeping = sleep(10_000, controller.signal);
  controller.abort();
  await sleeping;
  assert.ok(Date.now() - started < 1_000);
});
