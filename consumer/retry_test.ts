import assert from "node:assert/strict";
import { backoffDelayMs, isConnectionError } from "./retry.ts";

Deno.test("retries back off by doubling from 100 ms up to a cap", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n)), [
    100,
    200,
    400,
    800,
    1600,
    3200,
    5000,
    5000,
  ]);
  assert.equal(backoffDelayMs(3, { capMs: 250 }), 250);
});

Deno.test("connection failures are told apart from statements the server refused", () => {
  assert.ok(isConnectionError({ code: "ECONNREFUSED" }));
  assert.ok(isConnectionError({ code: "CONNECTION_CLOSED" }));
  assert.ok(isConnectionError({ code: "57P01", severity: "FATAL" }));
  assert.ok(isConnectionError({ code: "57P03", severity: "FATAL" }));
  assert.ok(isConnectionError({ code: "08006", severity: "FATAL" }));
  assert.ok(!isConnectionError({ code: "42P01", severity: "ERROR" }));
  assert.ok(!isConnectionError(new Error("no code")));
  assert.ok(!isConnectionError("text"));
});
