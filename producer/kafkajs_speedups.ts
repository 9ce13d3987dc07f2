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
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import {
  checkKafkaJs,
  type KafkaJsModules,
  type KafkaJsParts,
  type SwapName,
  SWAPS,
} from "./kafkajs_check.ts";

export { type KafkaJsModules, type KafkaJsParts, PINNED_KAFKAJS_VERSION } from "./kafkajs_check.ts";

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

/** KafkaJS as this process loads it: its module cache, through Node's `require`. */
export function nodeKafkaJsModules(): KafkaJsModules {
  const require = createRequire(import.meta.url);
  // Resolved by Deno rather than `require.resolve`, which probes folders (and so needs read
  // permissions the producer does not have).
  const file = (path: string) => fileURLToPath(import.meta.resolve(`kafkajs/${path}`));
  const cache = () => require.cache as Record<string, { exports: unknown } | undefined>;
  return {
    version: () => (require(file("package.json")) as { version?: string }).version,
    load: (path) => require(file(path)),
    isLoaded: (path) => cache()[file(path)] !== undefined,
    replace(path, exports) {
      const entry = cache()[file(path)];
      if (!entry) throw new Error(`kafkajs/${path} is not loaded`);
      entry.exports = exports;
    },
  };
}

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
  const installed: Record<SpeedupName, boolean> = { ...NONE };
  const problems: string[] = [];
  for (const [name, swap] of Object.entries(SWAPS) as [SwapName, typeof SWAPS[SwapName]][]) {
    if (modules.isLoaded(swap.loadedBy)) {
      problems.push(
        `${name}: kafkajs/${swap.loadedBy} was loaded before the speedups, so it keeps ` +
          `KafkaJS's own ${swap.module} (let producer/kafka_sink.ts load KafkaJS)`,
      );
      continue;
    }
    try {
      modules.replace(swap.module, parts.replacements[name]);
      installed[name] = true;
    } catch (error) {
      problems.push(`${name}: kafkajs/${swap.module} could not be swapped: ${String(error)}`);
    }
  }
  Object.assign(parts.Encoder.prototype, parts.fastMethods);
  parts.Encoder.sizeOfVarLong = parts.fastSizeOfVarLong;
  installed.encoder = true;
  return { parts, state: { installed, problems } };
}

/** The speedups in a few words for a log line: "all", "none: ..." or "all but x: ...". */
export function describeSpeedups(speedups: KafkaJsSpeedups): string {
  const off = SPEEDUP_NAMES.filter((name) => !speedups.installed[name]);
  const why = speedups.problems.length > 0 ? `: ${speedups.problems.join("; ")}` : "";
  if (off.length === 0) return "all";
  return off.length === SPEEDUP_NAMES.length ? `none${why}` : `all but ${off.join(", ")}${why}`;
}
