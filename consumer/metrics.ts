/** The consumer's Prometheus metrics and its periodic progress line. */
import { REJECT_REASONS } from "@activity/shared";
import type { Counter, Gauge, Histogram, Logger, MetricsRegistry } from "@activity/shared";
import type { FlushPlan } from "./flush_plan.ts";
import type { RowsWritten } from "./store.ts";

/** Every metric the consumer exports. */
export interface ConsumerMetrics {
  readonly consumed: Counter;
  readonly accepted: Counter;
  readonly rejected: Counter;
  readonly late: Counter;
  readonly flushes: Counter;
  readonly flushDuration: Histogram;
  readonly rows: Counter;
  readonly lag: Gauge;
  readonly latency: Histogram;
  readonly buffered: Gauge;
  readonly assigned: Gauge;
  readonly deadLetters: Counter;
  readonly discarded: Counter;
  readonly lostMessages: Counter;
  readonly ready: Gauge;
  /** 1 for each KafkaJS speedup in effect, 0 for each left out (the log says why), by `speedup`. */
  readonly kafkaJsSpeedups: Gauge;
}

/** Registers the consumer's metrics. */
export function registerConsumerMetrics(registry: MetricsRegistry): ConsumerMetrics {
  const metrics: ConsumerMetrics = {
    consumed: registry.counter(
      "activity_consumer_events_consumed_total",
      "Messages taken from Kafka into the buffer.",
    ),
    accepted: registry.counter(
      "activity_consumer_events_accepted_total",
      "Valid events counted and committed to PostgreSQL.",
    ),
    rejected: registry.counter(
      "activity_consumer_events_rejected_total",
      "Messages rejected and committed to rejected_events, by reason.",
    ),
    late: registry.counter(
      "activity_consumer_events_late_total",
      "Committed events that reached Kafka over a minute after they occurred.",
    ),
    flushes: registry.counter(
      "activity_consumer_flushes_total",
      "Flush attempts by outcome (committed, fenced, failed).",
    ),
    flushDuration: registry.histogram(
      "activity_consumer_flush_duration_seconds",
      "Time to commit one flush (dead letters and the PostgreSQL transaction).",
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    rows: registry.counter(
      "activity_consumer_rows_written_total",
      "Rows inserted or updated in PostgreSQL, by table.",
    ),
    lag: registry.gauge(
      "activity_consumer_lag_messages",
      "Messages between the committed offset and the high watermark, by partition.",
    ),
    latency: registry.histogram(
      "activity_consumer_event_commit_latency_seconds",
      "Time from an event's occurred_at to the commit that counted it.",
      // Fine below 2 s, where the latency target lies, so quantiles can be read back from it.
      [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 30, 60, 300, 3600],
    ),
    buffered: registry.gauge(
      "activity_consumer_buffered_events",
      "Events taken from Kafka and not yet committed.",
    ),
    assigned: registry.gauge(
      "activity_consumer_assigned_partitions",
      "Partitions assigned to this member.",
    ),
    deadLetters: registry.counter(
      "activity_consumer_dead_letters_total",
      "Rejected messages published to the dead-letter topic, by outcome (sent, cut, refused).",
    ),
    discarded: registry.counter(
      "activity_consumer_events_discarded_total",
      "Events read but dropped before a commit (a refused flush, a recreated topic): read again.",
    ),
    lostMessages: registry.counter(
      "activity_consumer_lost_messages_total",
      "Messages removed from Kafka before this group read them (recorded in " +
        "consumer_offset_gaps), by partition.",
    ),
    ready: registry.gauge(
      "activity_consumer_ready",
      "1 while /readyz answers 200 (partitions assigned, PostgreSQL answering, flushes succeeding).",
    ),
    kafkaJsSpeedups: registry.gauge(
      "activity_consumer_kafkajs_speedup_active",
      "1 when the KafkaJS speedup is in effect, 0 when it was left out (the startup log says why).",
    ),
  };
  for (const reason of REJECT_REASONS) metrics.rejected.inc({ reason }, 0);
  metrics.discarded.inc({}, 0);
  return metrics;
}

/** Records a committed flush. */
export function recordCommit(
  metrics: ConsumerMetrics,
  plan: FlushPlan,
  options: { rows: RowsWritten; durationMs: number; nowMs: number },
): void {
  metrics.flushes.inc({ outcome: "committed" });
  metrics.flushDuration.observe(options.durationMs / 1000);
  metrics.accepted.inc({}, plan.accepted);
  metrics.late.inc({}, plan.late);
  for (const [reason, count] of plan.rejectedByReason) metrics.rejected.inc({ reason }, count);
  for (const [table, count] of Object.entries(options.rows)) metrics.rows.inc({ table }, count);
  for (const range of plan.ranges) {
    for (const gap of range.gaps) {
      const lost = Number(BigInt(gap.to) - BigInt(gap.from));
      metrics.lostMessages.inc({ partition: String(range.partition) }, lost);
    }
  }
  for (const [tenth, count] of plan.eventsPerTenthSecond) {
    // From the middle of the tenth of a second the events occurred in.
    const latency = Math.max(0, (options.nowMs - tenth * 100 - 50) / 1000);
    metrics.latency.observeMany(latency, count);
  }
}

/** What `startProgress` reads, and how often. */
export interface ProgressOptions {
  readonly log: Logger;
  /** How often (default 5 s). */
  readonly intervalMs?: number;
  readonly lag: () => bigint;
  /**
   * Judges readiness (which sets `activity_consumer_ready`), so the gauge is current whether or
   * not anyone asks /readyz.
   */
  readonly judgeReadiness?: () => Promise<unknown>;
}

/**
 * Writes a progress line every `intervalMs` from the metrics and judges readiness as often;
 * returns a stop function.
 */
export function startProgress(metrics: ConsumerMetrics, options: ProgressOptions): () => void {
  const intervalMs = options.intervalMs ?? 5_000;
  let last = { at: Date.now(), consumed: 0, committed: 0 };
  let judging = false;
  const timer = setInterval(() => {
    if (options.judgeReadiness && !judging) {
      judging = true;
      options.judgeReadiness().catch(() => {}).finally(() => judging = false);
    }
    const now = Date.now();
    const consumed = metrics.consumed.get();
    const accepted = metrics.accepted.get();
    const rejected = REJECT_REASONS.reduce(
      (sum, reason) => sum + metrics.rejected.get({ reason }),
      0,
    );
    const committed = accepted + rejected;
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    const rows = ["user_event_summary", "user_event_hourly", "user_event_daily"].reduce(
      (sum, table) => sum + metrics.rows.get({ table }),
      0,
    );
    options.log.info("progress", {
      consumed_per_s: Math.round((consumed - last.consumed) / seconds),
      committed_per_s: Math.round((committed - last.committed) / seconds),
      accepted,
      rejected,
      rows_written: rows,
      buffered: metrics.buffered.get(),
      lag: Number(options.lag()),
      partitions: metrics.assigned.get(),
    });
    last = { at: now, consumed, committed };
  }, intervalMs);
  return () => clearInterval(timer);
}
