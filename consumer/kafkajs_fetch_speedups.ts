/**
 * Installs the consumer's faster stand-ins (`kafkajs_fast_fetch.ts`) for
 * KafkaJS 2.2.4's fetch decoding, which cost a draining consumer about a
 * tenth of its CPU, half of it in `Long` arithmetic per record:
 * - `record_batch`: the record-batch decoder, records included;
 * - `batch`: the consumer's `Batch`, whose offset filter made a `Long` per
 *   message.
 * Both are whole modules, swapped in the module cache, which works only
 * before KafkaJS loads the module that requires each; the consumer's Kafka
 * edge therefore loads KafkaJS only after installing (a module loaded earlier
 * by anyone else keeps its speedup out, and says so).
 *
 * Fails closed: `checkKafkaJsFetch` runs first, and on any difference
 * (another version, a missing or reshaped module, class, method or field,
 * other objects from sample batches) nothing is installed and KafkaJS runs
 * as it is.
 */
import {
  describeInstalled,
  type KafkaJsModules,
  nodeKafkaJsModules,
  swapModules,
} from "@activity/shared/kafkajs_modules";
import type { Logger } from "@activity/shared";
import { checkKafkaJsFetch, FETCH_SWAPS, type FetchParts } from "./kafkajs_fetch_check.ts";

/** The consumer's KafkaJS speedups, each in effect as a whole or not at all. */
export const FETCH_SPEEDUP_NAMES = ["record_batch", "batch"] as const;

/** One of the consumer's speedups. */
export type FetchSpeedupName = typeof FETCH_SPEEDUP_NAMES[number];

/** Which speedups are in effect, and why any other is not. */
export interface KafkaJsFetchSpeedups {
  readonly installed: Readonly<Record<FetchSpeedupName, boolean>>;
  /** One sentence per reason a speedup is out; empty when all are in effect. */
  readonly problems: readonly string[];
}

const NONE: Readonly<Record<FetchSpeedupName, boolean>> = { record_batch: false, batch: false };

interface Outcome {
  readonly state: KafkaJsFetchSpeedups;
  /** KafkaJS's own parts and their stand-ins, when the check passed. */
  readonly parts?: FetchParts;
}

let real: Promise<Outcome> | undefined;

/**
 * Checks KafkaJS and installs every speedup that passed, once per process
 * (later calls give the same state). With `modules` (tests), checks and
 * installs into those instead, every call.
 */
export async function installKafkaJsFetchSpeedups(
  modules?: KafkaJsModules,
): Promise<KafkaJsFetchSpeedups> {
  if (modules) return (await install(modules)).state;
  real ??= install(nodeKafkaJsModules());
  return (await real).state;
}

/**
 * KafkaJS's own parts and their stand-ins once `installKafkaJsFetchSpeedups()` has run with
 * KafkaJS as this process loads it; undefined when the check failed. For tests that compare.
 */
export async function kafkaJsFetchParts(): Promise<FetchParts | undefined> {
  return (await real)?.parts;
}

async function install(modules: KafkaJsModules): Promise<Outcome> {
  let check: Awaited<ReturnType<typeof checkKafkaJsFetch>>;
  try {
    check = await checkKafkaJsFetch(modules);
  } catch (error) {
    // A check that breaks in a way nobody foresaw still leaves plain KafkaJS, and says why.
    return {
      state: { installed: NONE, problems: [`checking KafkaJS failed unexpectedly: ${error}`] },
    };
  }
  if (!check.ok) return { state: { installed: NONE, problems: check.problems } };
  const { parts } = check;
  const swapped = swapModules(modules, FETCH_SWAPS, {
    replacements: parts.replacements,
    owner: "consumer/kafka_source.ts",
  });
  const installed = { ...NONE, ...swapped.installed };
  return { parts, state: { installed, problems: swapped.problems } };
}

/**
 * The consumer's Kafka edge (`@activity/shared/kafka`, and so KafkaJS), loaded only after the
 * speedups are installed (a warning names any left out): nothing in the consumer may load
 * KafkaJS before this (no static import of it or of that module).
 */
export async function importKafkaAfterSpeedups(
  log: Logger,
): Promise<typeof import("@activity/shared/kafka")> {
  reportFetchSpeedups(log, await installKafkaJsFetchSpeedups());
  return await import("@activity/shared/kafka");
}

/** The speedups in a few words for a log line: "all", "none: ..." or "all but x: ...". */
export function describeFetchSpeedups(speedups: KafkaJsFetchSpeedups): string {
  return describeInstalled(FETCH_SPEEDUP_NAMES, speedups);
}

let reported = false;

/** A warning, once per process, when any speedup is out, naming why. */
export function reportFetchSpeedups(log: Logger, speedups: KafkaJsFetchSpeedups): void {
  if (reported || speedups.problems.length === 0) return;
  reported = true;
  log.warn("KafkaJS speedups left out; plain KafkaJS does their work", {
    kafkajs_speedups: describeFetchSpeedups(speedups),
  });
}
