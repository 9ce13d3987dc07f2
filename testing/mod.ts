/**
 * The helpers nearly every end-to-end test uses, in one import: services and
 * a consumer scene of the test's own, seeded events and raw publishing, the
 * consumer and producer CLIs watched from outside, counts compared table by
 * table, and the figures line. Specialised helpers (a TCP proxy, a broker or
 * a cluster of the test's own, compose, analytics) are imported from their
 * own modules.
 */
export { cliArgs, exitWithin } from "./command_output.ts";
export { spawnConsumerProcess, startTestConsumer, testConsumerConfig } from "./consumer_fixture.ts";
export { createConsumerScene, startConsumerRun } from "./consumer_run.ts";
export { printFigures } from "./fault_figures.ts";
export {
  explained,
  faultConsumerFlags,
  freePort,
  httpGet,
  logLines,
  metricSum,
  scrapeMetrics,
  sleep,
} from "./fault_processes.ts";
export {
  assertCountsExact,
  type CountedEvent,
  eventsOf,
  readTopicBack,
  topicMessageCount,
} from "./fault_topic.ts";
export {
  acceptedEvents,
  committedMessages,
  eventMessages,
  publishRaw,
  type RawMessage,
  seededEvents,
  seededRandom,
  waitUntil,
} from "./pipeline_events.ts";
export { summaryOf, watchProducer } from "./producer_topic.ts";
export { createTestDatabase, testServices, uniqueName } from "./services.ts";
