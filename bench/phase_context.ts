/** What every benchmark phase is given, and the targets the phases hold the programs to. */
import type { TestDatabase } from "../testing/services.ts";
import type { Figure } from "./report.ts";

/** Partitions of every topic the benchmark creates. */
export const PARTITIONS = 6;

/** The targets: ratios against kcat in the same run, latency and memory. */
export const TARGETS = {
  /** Peak RSS of every consumer run, MiB. */
  peakMemoryMiB: 300,
  /** The drain of the producer's live-like topic, % of kcat's raw read of it. */
  drainShareOfKcat: 25,
  /** The drain of the hour-spread backlog, % of kcat's raw read of it. */
  backlogShareOfKcat: 15,
  /** What makes a backlog high-cardinality: distinct (user, minute, type) keys per event. */
  backlogKeysPerEvent: 0.5,
  /** Live runs: sustained throughput as a share of the offered rate, %. */
  liveSustainedShare: 95,
  /** Live runs: p99 event→commit latency, s. */
  liveP99Seconds: 2,
  /** The producer at --rate max, events/s (absolute: the producer has no kcat to compare with). */
  producerRate: 200_000,
  /** Every dashboard query, median ms. */
  dashboardQueryMs: 100,
} as const;

/** A database of a phase's own (its URL and a client), dropped when disposed. */
export type PhaseDatabase = TestDatabase;

/** The consumer's peak memory as a figure of `phase`, held to its target. */
export function consumerMemoryFigure(phase: string, peakBytes: number): Figure {
  return {
    phase,
    name: "consumer peak memory (RSS)",
    value: peakBytes / 2 ** 20,
    unit: "MiB",
    target: { kind: "max", value: TARGETS.peakMemoryMiB },
  };
}

/** What every phase needs. */
export interface PhaseContext {
  readonly brokers: readonly string[];
  readonly users: number;
  readonly seed: number;
  /** Creates an empty database of the phase's own. */
  readonly createDatabase: (label: string) => Promise<PhaseDatabase>;
  readonly log: (message: string) => void;
}
