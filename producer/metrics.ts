/** The producer's Prometheus metrics, served at `/metrics`. */
import type { Counter, Gauge, Histogram, MetricsRegistry } from "@activity/shared";

/** The producer's metrics. */
export interface ProducerMetrics {
  /** Valid events acknowledged by Kafka, by `event_type`. */
  readonly eventsSent: Counter;
  /** Injected malformed messages acknowledged by Kafka, by the `reason` the consumer will give. */
  readonly malformedSent: Counter;
  /** Messages generated but not delivered. */
  readonly eventsFailed: Counter;
  /** Batches that finally failed. */
  readonly sendErrors: Counter;
  /** Send attempts that failed and were retried (or given up on). */
  readonly sendRetries: Counter;
  /** Messages per batch. */
  readonly batchMessages: Histogram;
  /** Seconds from handing a batch to KafkaJS until it was acknowledged. */
  readonly sendLatency: Histogram;
  /** How far generation is behind the schedule, in seconds. */
  readonly behindSchedule: Gauge;
  /** 1 for each KafkaJS speedup in effect, 0 for each left out (the log says why), by `speedup`. */
  readonly kafkaJsSpeedups: Gauge;
}

/** Registers the producer's metrics in `registry`. */
export function createProducerMetrics(registry: MetricsRegistry): ProducerMetrics {
  const metrics: ProducerMetrics = {
    eventsSent: registry.counter(
      "activity_producer_events_sent_total",
      "Valid events acknowledged by Kafka, by event type.",
    ),
    malformedSent: registry.counter(
      "activity_producer_malformed_sent_total",
      "Injected malformed messages acknowledged by Kafka, by expected rejection reason.",
    ),
    eventsFailed: registry.counter(
      "activity_producer_events_failed_total",
      "Messages generated but not delivered (sending failed).",
    ),
    sendErrors: registry.counter(
      "activity_producer_send_errors_total",
      "Batches whose sending finally failed.",
    ),
    sendRetries: registry.counter(
      "activity_producer_send_retries_total",
      "Send attempts that failed and were retried with backoff.",
    ),
    batchMessages: registry.histogram(
      "activity_producer_batch_messages",
      "Messages per batch sent.",
      [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
    ),
    sendLatency: registry.histogram(
      "activity_producer_send_latency_seconds",
      "Time from handing a batch to Kafka until it was acknowledged.",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    behindSchedule: registry.gauge(
      "activity_producer_behind_schedule_seconds",
      "How far generation is behind the send schedule (0 when keeping up or at --rate max).",
    ),
    kafkaJsSpeedups: registry.gauge(
      "activity_producer_kafkajs_speedup_active",
      "1 when the KafkaJS speedup is in effect, 0 when it was left out (the startup log says why).",
    ),
  };
  // Series without labels start at 0, so that dashboards and alerts see them from the start.
  metrics.eventsFailed.inc({}, 0);
  metrics.sendErrors.inc({}, 0);
  metrics.sendRetries.inc({}, 0);
  metrics.behindSchedule.set({}, 0);
  return metrics;
}
