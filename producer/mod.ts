/**
 * The producer: a deterministic user-activity simulator and its publisher to
 * Kafka. `main.ts` is the command line; everything here is usable from tests
 * and benchmarks.
 *
 * @module
 */
export { type ProducerConfig, producerProgram } from "./settings.ts";
export { type ProducerSummary, runProducer, type RunProducerOptions } from "./run.ts";
export {
  createSimulation,
  type SimulatedMessage,
  type Simulation,
  type SimulationSettings,
} from "./simulation.ts";
export { type EventMix, parseEventMix, UNKNOWN_EVENT_TYPE } from "./event_mix.ts";
export { averageRate, type Burst } from "./arrivals.ts";
export { MALFORMED_KINDS } from "./malformed.ts";
export { type MessageSink, publish, type PublishPlan, PublishStats } from "./publisher.ts";
export { OutgoingBatch } from "./batch.ts";
