/**
 * Imported first by the producer's Kafka edge, so that it runs before KafkaJS
 * loads: installs the KafkaJS speedups, including the module swaps that are
 * only possible at this point. See `kafkajs_speedups.ts`.
 */
import { installKafkaJsSpeedups, type KafkaJsSpeedups } from "./kafkajs_speedups.ts";

/** Which speedups were installed before KafkaJS loaded. */
export const PRELOADED_SPEEDUPS: KafkaJsSpeedups = installKafkaJsSpeedups();
