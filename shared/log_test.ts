import assert from "node:assert/strict";
import { createLogger, type LoggerOptions } from "./log.ts";

/** A logger on a fixed clock, and the lines it wrote. */
function capturing(options: Pick<LoggerOptions, "level" | "format" | "name">) {
  const lines: string[] = [];
  const now = () => new Date("2026-01-02T03:04:05.678Z");
  return { lines, log: createLogger({ ...options, write: (line) => lines.push(line), now }) };
}

Deno.test("a logger writes nothing below its level", () => {
  const { lines, log } = capturing({ level: "warn", format: "json", name: "t" });
  log.info("hidden");
  log.debug("hidden");
  log.error("shown", { code: 7 });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "2026-01-02T03:04:05.678Z",
    level: "error",
    name: "t",
    msg: "shown",
    code: 7,
  });
  assert.equal(log.enabled("debug"), false);
});

Deno.test("a pretty line shows time, level, message and quoted fields", () => {
  const { lines, log } = capturing({ level: "debug", format: "pretty", name: "producer" });
  log.info("sent", { events: 10, topic: "a b", error: new Error("boom") });
  assert.equal(lines[0], '03:04:05.678 INFO  producer: sent events=10 topic="a b" error=boom');
});
