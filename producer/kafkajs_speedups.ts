/**
 * Installs faster, byte-identical replacements (`kafkajs_fast_parts.ts`) for
 * the parts of KafkaJS 2.2.4 that dominate producing under Deno:
 * - protocol `Encoder` methods: every varint allocated a `Buffer` from a
 *   temporary array, every varlong went through `Long` objects, every record
 *   was copied through a fresh `slice`, buffers grew zero-filled and bytes
 *   were copied with `Buffer#copy`;
 * - `groupMessagesPerPartition`, which copies a partition's array for every
 *   message (quadratic in the batch size);
 * - the record-batch CRC-32C, computed a byte at a time;
 * - `Record`, which zero-fills a 512-byte buffer per message.
 * The last three are whole modules, swapped in the module cache, which works
 * only before KafkaJS loads the module that requires each; the producer's
 * Kafka edge therefore loads KafkaJS only after installing (a module loaded
 * earlier by anyone else keeps its speedup out, and says so).
 *
 * Fails closed: `checkKafkaJs` runs first, and on any difference (another
 * version, a missing or reshaped method, module or field, other bytes on
 * sample input) nothing is installed and KafkaJS runs as it is.
 */
import {
  describeInstalled,
  type KafkaJsModules,
  nodeKafkaJsModules,
  swapModules,
} from "@activity/shared/kafkajs_modules";
import { checkKafkaJs, type KafkaJsParts, SWAPS } from "./kafkajs_check.ts";

export { type KafkaJsParts, PINNED_KAFKAJS_VERSION } from "./kafkajs_check.ts";
export { type KafkaJsModules, nodeKafkaJsModules } from "@activity/shared/kafkajs_modules";

/** The speedups, each in effect as a whole or not at all. */
export const SPEEDUP_NAMES = ["encoder", "crc32c", "grouping", "record"] as const;

/** One of the speedups. */
export type SpeedupName = typeof SPEEDUP_NAMES[number];

/** Which speedups are in effect, and why any other is not. */
export interface KafkaJsSpeedups {
  readonly installed: Readonly<Record<SpeedupName, boolean>>;
  /** One sentence per reason a speedup is out; empty when all are in effect. */
  readonly problems: readonly string[];
}

const NONE: Readonly<Record<SpeedupName, boolean>> = {
  encoder: false,
  crc32c: false,
  grouping: false,
  record: false,
};

interface Outcome {
  readonly state: KafkaJsSpeedups;
  /** KafkaJS's own parts and their stand-ins, when the check passed. */
  readonly parts?: KafkaJsParts;
}

let real: Outcome | undefined;

/**
 * Checks KafkaJS and installs every speedup that passed, once per process
 * (later calls report the same state). With `modules` (tests), checks and
 * installs into those instead, every call.
 */
export function installKafkaJsSpeedups(modules?: KafkaJsModules): KafkaJsSpeedups {
  if (modules) return install(modules).state;
  real ??= install(nodeKafkaJsModules());
  return real.state;
}

/**
 * KafkaJS's own parts (as found before anything was replaced) and their
 * stand-ins, once `installKafkaJsSpeedups()` has run with KafkaJS as this
 * process loads it; undefined when the check failed. For tests that compare.
 */
export function kafkaJsParts(): KafkaJsParts | undefined {
  return real?.parts;
}

function install(modules: KafkaJsModules): Outcome {
  const check = checkKafkaJs(modules);
  if (!check.ok) return { state: { installed: NONE, problems: check.problems } };
  const { parts } = check;
  const swapped = swapModules(modules, SWAPS, {
    replacements: parts.replacements,
    owner: "producer/kafka_sink.ts",
  });
  Object.assign(parts.Encoder.prototype, parts.fastMethods);
  parts.Encoder.sizeOfVarLong = parts.fastSizeOfVarLong;
  const installed = { ...NONE, ...swapped.installed, encoder: true };
  return { parts, state: { installed, problems: swapped.problems } };
}

/** The speedups in a few words for a log line: "all", "none: ..." or "all but x: ...". */
export function describeSpeedups(speedups: KafkaJsSpeedups): string {
  return describeInstalled(SPEEDUP_NAMES, speedups);
}
