/**
 * Every time limit of a consumer's stop, in one place. A stop flushes what is
 * buffered (retrying until `flushDeadlineMs`), waits for the informational
 * group-offset commit, leaves the group, closes the pool and the health
 * server; `hardExitMs` ends the process whatever hangs. Compose's
 * `stop_grace_period` for the consumer must exceed `hardExitMs` (a test
 * checks it), so the container is never killed while it still commits.
 */

/** Milliseconds each step of a stop may take. */
export interface ShutdownBudget {
  /** How long a stopping consumer keeps retrying its last flush. */
  readonly flushDeadlineMs: number;
  /** How long the last group-offset commit to Kafka (informational) is waited for. */
  readonly groupOffsetCommitMs: number;
  /** How long leaving the group and disconnecting from Kafka may take. */
  readonly kafkaDisconnectMs: number;
  /** How long closing the PostgreSQL pool may take. */
  readonly poolCloseMs: number;
  /** How long the health server may take to close. */
  readonly healthServerCloseMs: number;
  /** After the first signal, the process exits by this time whatever is still running. */
  readonly hardExitMs: number;
}

const STEPS = {
  flushDeadlineMs: 12_000,
  groupOffsetCommitMs: 2_000,
  kafkaDisconnectMs: 3_000,
  poolCloseMs: 5_000,
  healthServerCloseMs: 1_000,
};

/** The consumer's stop budget. */
export const SHUTDOWN_BUDGET: ShutdownBudget = {
  ...STEPS,
  // Every step at its limit, one after the other, plus a margin for the event loop.
  hardExitMs: Object.values(STEPS).reduce((sum, ms) => sum + ms, 0) + 2_000,
};
