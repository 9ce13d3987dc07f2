import assert from "node:assert/strict";
import { createLogger, MetricsRegistry, readConfig, REJECT_REASONS } from "@activity/shared";
import type { OutgoingBatch } from "./batch.ts";
import { type ProducerConfig, producerProgram } from "./settings.ts";
import { runProducer } from "./run.ts";

function configOf(args: string[]): ProducerConfig {
  const outcome = readConfig(producerProgram, { args, env: {} });
  if (outcome.kind !== "config") throw new Error(JSON.stringify(outcome));
  return outcome.config;
}

function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "info",
    format: "json",
    name: "producer",
    write: (line) => lines.push(JSON.parse(line)),
  });
  return { log, lines };
}

Deno.test("a run reports what was acknowledged, by type and by rejection reason, and exposes it as metrics", async () => {
  const { log, lines } = capturingLog();
  const metrics = new MetricsRegistry();
  const received: OutgoingBatch[] = [];
  const summary = await runProducer(
    configOf(["--count", "2500", "--seed", "3", "--rate", "max", "--invalid-ratio", "0.05"]),
    {
      log,
      metrics,
      sink: {
        maxInFlight: 2,
        send: (batch) => (received.push(batch), Promise.resolve()),
      },
    },
  );
  assert.equal(summary.seed, 3);
  assert.equal(summary.sent, 2500);
  assert.equal(summary.failed, 0);
  assert.equal(summary.stoppedBy, "count");
  const valid = Object.values(summary.sentByType).reduce((a, b) => a + b, 0);
  assert.equal(valid + summary.invalidSent, 2500);
  assert.deepEqual(Object.keys(summary.invalidByReason).sort(), [...REJECT_REASONS].sort());
  assert.equal(received.reduce((sum, batch) => sum + batch.count, 0), 2500);
  const text = metrics.render();
  for (const [type, count] of Object.entries(summary.sentByType)) {
    assert.ok(
      text.includes(`activity_producer_events_sent_total{event_type="${type}"} ${count}\n`),
      type,
    );
  }
  assert.ok(
    text.includes(
      `activity_producer_malformed_sent_total{reason="empty"} ${summary.invalidByReason.empty}\n`,
    ),
  );
  assert.ok(text.includes("activity_producer_events_failed_total 0\n"));
  assert.ok(text.includes(`activity_producer_batch_messages_count ${received.length}\n`));
  assert.ok(lines.some((line) => line.msg === "publishing" && line.seed === 3));
});

Deno.test("a failing sink ends the run with the undelivered count and the error", async () => {
  const { log, lines } = capturingLog();
  const metrics = new MetricsRegistry();
  let calls = 0;
  const summary = await runProducer(configOf(["--rate", "max", "--seed", "1"]), {
    log,
    metrics,
    sink: {
      send: () =>
        ++calls < 3 ? Promise.resolve() : Promise.reject(new Error("NOT_ENOUGH_REPLICAS")),
    },
  });
  assert.equal(summary.stoppedBy, "error");
  assert.equal(summary.error, "Error: NOT_ENOUGH_REPLICAS");
  assert.equal(summary.sent, 4000);
  assert.ok(summary.failed >= 2000);
  assert.ok(metrics.render().includes(`activity_producer_events_failed_total ${summary.failed}\n`));
  assert.ok(metrics.render().includes("activity_producer_send_errors_total 1\n"));
  assert.ok(lines.some((line) => line.msg === "sending a batch failed" && line.level === "error"));
});

Deno.test("progress lines come at the configured interval with sent, rate, retries and errors", async () => {
  const { log, lines } = capturingLog();
  const stop = new AbortController();
  const running = runProducer(configOf(["--rate", "2000", "--progress-interval", "100ms"]), {
    log,
    signal: stop.signal,
    sink: { send: () => Promise.resolve() },
  });
  while (lines.filter((line) => line.msg === "progress").length < 3) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  stop.abort();
  const summary = await running;
  const progress = lines.filter((line) => line.msg === "progress");
  for (const key of ["sent", "rate", "retries", "errors", "failed", "behind_s"]) {
    assert.ok(key in progress[0], key);
  }
  assert.ok((progress[2].sent as number) > 0);
  // 2000 events/s, measured over 100 ms windows of a loaded machine's timers.
  assert.ok((progress[2].rate as number) > 500 && (progress[2].rate as number) < 4000);
  assert.equal(summary.stoppedBy, "signal");
  assert.ok(summary.sent > 0);
  assert.equal(summary.failed, 0);
});
