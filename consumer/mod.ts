/**
 * The exactly-once consumer: reads user activity from Kafka, aggregates it per
 * (user, minute, event type) and commits counts, rollups, rejections and
 * offsets to PostgreSQL in one fenced transaction per flush.
 *
 * @module
 */
export { type ConsumerConfig, consumerProgram } from "./config.ts";
export { runConsumer, type RunOptions } from "./run.ts";
export type { PipelineSummary } from "./pipeline.ts";
export {
  loadMigrations,
  migrate,
  type MigrateOptions,
  type Migration,
  MigrationError,
  type MigrationReport,
  MIGRATIONS_DIRECTORY,
} from "./migrations.ts";
export {
  aggregateBatch,
  type AggregateOptions,
  type BatchAggregate,
  emptyAggregate,
  type Rejection,
  type SourceBatch,
  type SourceMessage,
} from "./aggregate.ts";
export { type FlushPlan, planFlush } from "./flush_plan.ts";
export { SAMPLED_TABLES } from "./maintenance.ts";
export { type OffsetFence, type PartitionRange } from "./offset_fence.ts";
