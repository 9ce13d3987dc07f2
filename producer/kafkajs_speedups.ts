/**
 * Installs faster, byte-identical replacements (`kafkajs_fast_parts.ts`) for
 * the parts of KafkaJS 2.2.4 that dominate producing under Deno:
 * - protocol `Encoder` methods: every varint allocated a `Buffer` from a
 *   temporary array, every varlong went through `Long` objects, every record
 *   was copied through a fresh `slice`, buffers grew zero-filled and bytes
 *   were copied with `Buffer#copy` (70 k → 150 k messages/s alone);
 * - `groupMessagesPerPartition`, which copies a partition's array for every
 *   message (quadratic in the batch size);
 * - the record-batch CRC-32C, computed a byte at a time;
 * - `Record`, which zero-fills a 512-byte buffer per message.
 * The last three are whole modules, swapped in the module cache, which works
 * only before KafkaJS loads them: `kafkajs_preload.ts` runs first for that.
 * KafkaJS is unmaintained and pinned, so these internals will not move; the
 * tests prove the output unchanged. Part of the producer's Kafka edge.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
// @ts-types="./kafkajs_encoder.d.ts"
import Encoder from "kafkajs/src/protocol/encoder.js";
import { crc32c } from "./crc32c.ts";
import {
  type EncoderMethod,
  fastEncoderMethods,
  fastRecord,
  fastSizeOfVarLong,
  groupMessagesPerPartition,
  type RecordArgs,
  type ReplacedMethods,
} from "./kafkajs_fast_parts.ts";

const prototype = Encoder.prototype as unknown as Record<string, EncoderMethod>;
const statics = Encoder as unknown as { sizeOfVarLong(value: unknown): number };

const ORIGINAL_METHODS: ReplacedMethods = {
  ensureAvailable: prototype.ensureAvailable,
  writeBufferInternal: prototype.writeBufferInternal,
  writeUVarInt: prototype.writeUVarInt,
  writeVarLong: prototype.writeVarLong,
  writeEncoder: prototype.writeEncoder,
  writeEncoderArray: prototype.writeEncoderArray,
};
const ORIGINAL_SIZE_OF_VAR_LONG = statics.sizeOfVarLong;
const FAST_METHODS = fastEncoderMethods(ORIGINAL_METHODS);
const FAST_SIZE_OF_VAR_LONG = fastSizeOfVarLong(ORIGINAL_SIZE_OF_VAR_LONG);

const require = createRequire(import.meta.url);

/**
 * The file of a KafkaJS module, as its module cache names it. Resolved by
 * Deno rather than `require.resolve`, which probes folders (and so needs read
 * permissions the producer does not have).
 */
function modulePath(specifier: string): string {
  return fileURLToPath(import.meta.resolve(specifier));
}

/** KafkaJS modules swapped whole, and the one module that loads each (too late once it has). */
const SWAPS = {
  crc32c: {
    module: "kafkajs/src/protocol/recordBatch/crc32C/crc32C.js",
    loadedBy: "kafkajs/src/protocol/recordBatch/crc32C/index.js",
  },
  grouping: {
    module: "kafkajs/src/producer/groupMessagesPerPartition.js",
    loadedBy: "kafkajs/src/producer/sendMessages.js",
  },
  record: {
    module: "kafkajs/src/protocol/recordBatch/record/v0/index.js",
    loadedBy: "kafkajs/src/protocol/requests/produce/v3/request.js",
  },
} as const;

type SwapName = keyof typeof SWAPS;

function loadOriginal(name: SwapName): unknown {
  try {
    return require(modulePath(SWAPS[name].module));
  } catch {
    // Another KafkaJS layout (a bundle, another version): nothing is swapped then.
    return undefined;
  }
}

// KafkaJS's own functions, read before this module swaps anything.
const ORIGINALS = {
  crc32c: loadOriginal("crc32c") as (bytes: Uint8Array) => number,
  groupMessagesPerPartition: loadOriginal("grouping") as typeof groupMessagesPerPartition,
  record: loadOriginal("record") as (args: RecordArgs) => InstanceType<typeof Encoder>,
};

const REPLACEMENTS: Record<SwapName, unknown> = {
  crc32c,
  grouping: groupMessagesPerPartition,
  record: ORIGINALS.record ? fastRecord(ORIGINALS.record) : undefined,
};

/** Which speedups are in effect. */
export type KafkaJsSpeedups = { readonly encoder: boolean } & Readonly<Record<SwapName, boolean>>;

const swapped: Record<SwapName, boolean> = { crc32c: false, grouping: false, record: false };

function swap(name: SwapName): boolean {
  if (swapped[name]) return true;
  const replacement = REPLACEMENTS[name];
  if (replacement === undefined) return false;
  try {
    const cache = require.cache as Record<string, { exports: unknown } | undefined>;
    if (cache[modulePath(SWAPS[name].loadedBy)]) return false;
    const entry = cache[modulePath(SWAPS[name].module)];
    if (!entry) return false;
    entry.exports = replacement;
    swapped[name] = true;
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs every speedup still possible (idempotent; affects every KafkaJS
 * client in the process) and says which are in effect.
 */
export function installKafkaJsSpeedups(): KafkaJsSpeedups {
  Object.assign(prototype, FAST_METHODS);
  statics.sizeOfVarLong = FAST_SIZE_OF_VAR_LONG;
  return {
    encoder: true,
    crc32c: swap("crc32c"),
    grouping: swap("grouping"),
    record: swap("record"),
  };
}

/** Restores KafkaJS's own encoder methods (for tests that compare; swapped modules stay). */
export function uninstallKafkaJsSpeedups(): void {
  Object.assign(prototype, ORIGINAL_METHODS);
  statics.sizeOfVarLong = ORIGINAL_SIZE_OF_VAR_LONG;
}

/** Whether the faster encoder methods are installed. */
export function kafkaJsSpeedupsInstalled(): boolean {
  return prototype.writeUVarInt === FAST_METHODS.writeUVarInt;
}

/** KafkaJS's own versions of the swapped modules, for tests that compare. */
export function kafkaJsOriginals(): typeof ORIGINALS {
  return ORIGINALS;
}
