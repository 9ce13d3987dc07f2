/**
 * The guard in front of the KafkaJS speedups: before anything is replaced,
 * the installed KafkaJS must be the pinned release, every method, module and
 * field the speedups replace or use must be there with the expected shape,
 * and each stand-in must write the same bytes as KafkaJS's own code on
 * sample input. It only reads: KafkaJS is reached through `KafkaJsModules`,
 * the real module cache or a fake one in tests.
 */
import { Buffer } from "node:buffer";
import {
  checkVersion,
  describeError as describe,
  expectArity,
  type KafkaJsModules,
  loadFunction,
} from "@activity/shared/kafkajs_modules";
import { crc32c } from "./crc32c.ts";
import {
  type EncoderClass,
  type EncoderMethod,
  fastEncoderMethods,
  fastRecord,
  fastSizeOfVarLong,
  groupMessagesPerPartition,
  type RecordArgs,
  type ReplacedMethods,
} from "./kafkajs_fast_parts.ts";

export { type KafkaJsModules, PINNED_KAFKAJS_VERSION } from "@activity/shared/kafkajs_modules";

/** KafkaJS's protocol encoder. */
export const ENCODER_MODULE = "src/protocol/encoder.js";

/** KafkaJS modules swapped whole, and the one module that loads each (too late once it has). */
export const SWAPS = {
  crc32c: {
    module: "src/protocol/recordBatch/crc32C/crc32C.js",
    loadedBy: "src/protocol/recordBatch/crc32C/index.js",
  },
  grouping: {
    module: "src/producer/groupMessagesPerPartition.js",
    loadedBy: "src/producer/sendMessages.js",
  },
  record: {
    module: "src/protocol/recordBatch/record/v0/index.js",
    loadedBy: "src/protocol/requests/produce/v3/request.js",
  },
} as const;

/** A module swapped whole. */
export type SwapName = keyof typeof SWAPS;

/** Encoder methods the speedups replace or call, with the number of parameters each declares. */
const ENCODER_METHODS: Readonly<Record<string, number>> = {
  ensureAvailable: 1,
  writeBufferInternal: 1,
  writeUVarInt: 1,
  writeVarLong: 1,
  writeEncoder: 1,
  writeEncoderArray: 1,
  writeVarInt: 1,
  writeInt8: 1,
  writeVarIntBytes: 1,
  writeVarIntArray: 2,
};
/** Static `Encoder` functions the speedups replace or call. */
const ENCODER_STATICS: Readonly<Record<string, number>> = {
  sizeOfVarInt: 1,
  sizeOfVarLong: 1,
  sizeOfVarIntBytes: 1,
};
/** Each swapped module exports one function of one (destructured) argument. */
const SWAP_ARITY: Readonly<Record<SwapName, number>> = { crc32c: 1, grouping: 1, record: 1 };

/** KafkaJS's own parts, as found, and the stand-ins made from them. */
export interface KafkaJsParts {
  readonly Encoder: EncoderClass;
  readonly methods: ReplacedMethods;
  readonly fastMethods: ReplacedMethods;
  readonly sizeOfVarLong: (value: unknown) => number;
  readonly fastSizeOfVarLong: (value: unknown) => number;
  readonly originals: {
    readonly crc32c: (bytes: Uint8Array) => number;
    readonly grouping: typeof groupMessagesPerPartition;
    readonly record: (args: RecordArgs) => InstanceType<EncoderClass>;
  };
  readonly replacements: Readonly<Record<SwapName, unknown>>;
}

/** What the check found: KafkaJS's parts when everything matched, else what differed. */
export type KafkaJsCheck =
  | { readonly ok: true; readonly parts: KafkaJsParts }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Checks the installed KafkaJS against what the speedups expect; changes nothing. */
export function checkKafkaJs(modules: KafkaJsModules): KafkaJsCheck {
  const problems: string[] = [];
  checkVersion(modules, problems);
  const Encoder = loadFunction(modules, ENCODER_MODULE, problems) as EncoderClass | undefined;
  if (Encoder !== undefined) checkEncoder(Encoder, problems);
  const originals: Partial<Record<SwapName, unknown>> = {};
  for (const [name, swap] of Object.entries(SWAPS) as [SwapName, typeof SWAPS[SwapName]][]) {
    const found = loadFunction(modules, swap.module, problems);
    if (found === undefined) continue;
    expectArity(`${swap.module} (its export)`, found, SWAP_ARITY[name], problems);
    originals[name] = found;
  }
  if (problems.length > 0 || Encoder === undefined) return { ok: false, problems };
  const parts = makeParts(Encoder, originals as KafkaJsParts["originals"]);
  problems.push(...compareBytes(parts));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, parts };
}

function checkEncoder(Encoder: EncoderClass, problems: string[]): void {
  const prototype = Encoder.prototype as unknown as Record<string, unknown>;
  for (const [name, arity] of Object.entries(ENCODER_METHODS)) {
    expectArity(`Encoder.prototype.${name}`, prototype[name], arity, problems);
  }
  for (const [name, arity] of Object.entries(ENCODER_STATICS)) {
    expectArity(
      `Encoder.${name}`,
      (Encoder as unknown as Record<string, unknown>)[name],
      arity,
      problems,
    );
  }
  if (typeof getterOf(Encoder.prototype, "buffer") !== "function") {
    problems.push("Encoder.prototype.buffer is not a getter");
  }
  try {
    const encoder = new Encoder() as unknown as Record<string, unknown>;
    if (!Buffer.isBuffer(encoder.buf)) problems.push("a new Encoder's buf is not a Buffer");
    if (encoder.offset !== 0) problems.push("a new Encoder's offset is not 0");
  } catch (error) {
    problems.push(`new Encoder() fails: ${describe(error)}`);
  }
}

function getterOf(prototype: object | null, name: string): unknown {
  for (let at = prototype; at !== null; at = Object.getPrototypeOf(at)) {
    const descriptor = Object.getOwnPropertyDescriptor(at, name);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

function makeParts(Encoder: EncoderClass, originals: KafkaJsParts["originals"]): KafkaJsParts {
  const prototype = Encoder.prototype as unknown as Record<string, EncoderMethod>;
  const methods: ReplacedMethods = {
    ensureAvailable: prototype.ensureAvailable,
    writeBufferInternal: prototype.writeBufferInternal,
    writeUVarInt: prototype.writeUVarInt,
    writeVarLong: prototype.writeVarLong,
    writeEncoder: prototype.writeEncoder,
    writeEncoderArray: prototype.writeEncoderArray,
  };
  return {
    Encoder,
    methods,
    fastMethods: fastEncoderMethods(methods),
    sizeOfVarLong: Encoder.sizeOfVarLong,
    fastSizeOfVarLong: fastSizeOfVarLong(Encoder, Encoder.sizeOfVarLong),
    originals,
    replacements: {
      crc32c,
      grouping: groupMessagesPerPartition,
      record: fastRecord(Encoder, originals.record),
    },
  };
}

/** Encoder subclass with the fast methods: the stand-ins tried without touching KafkaJS. */
function withFastMethods(parts: KafkaJsParts): EncoderClass {
  const Fast = class extends parts.Encoder {} as unknown as EncoderClass;
  Object.assign(Fast.prototype, parts.fastMethods);
  return Fast;
}

/** Each stand-in against KafkaJS's own code on sample input: a problem for each that differs. */
function compareBytes(parts: KafkaJsParts): string[] {
  const problems: string[] = [];
  const same = (what: string, ours: () => unknown, theirs: () => unknown) => {
    try {
      const [a, b] = [JSON.stringify(ours()), JSON.stringify(theirs())];
      if (a !== b) problems.push(`the fast ${what} differs from KafkaJS's`);
    } catch (error) {
      problems.push(`the fast ${what} could not be compared: ${describe(error)}`);
    }
  };
  const { Encoder } = parts;
  const Fast = withFastMethods(parts);
  const numbers = [0, 1, -1, 63, -64, 300, -16385, 2 ** 29, -(2 ** 30), 2 ** 31 - 1, 2 ** 40];
  const write = (Class: EncoderClass) => {
    const encoder = new Class(1);
    for (const value of numbers) {
      encoder.writeVarInt(value).writeUVarInt(Math.abs(value) >>> 0).writeVarLong(value);
      encoder.writeBufferInternal(Buffer.alloc(value & 0x3f, 7));
    }
    encoder.writeEncoderArray([new Class().writeInt8(5), new Class().writeVarInt(300)]);
    return [...encoder.buffer];
  };
  same("encoder methods", () => write(Fast), () => write(Encoder));
  same(
    "Encoder.sizeOfVarLong",
    () => numbers.map(parts.fastSizeOfVarLong),
    () => numbers.map(parts.sizeOfVarLong),
  );
  const sample = Buffer.from("the CRC-32C of a sample record batch, 0123456789");
  same("CRC-32C", () => crc32c(sample), () => parts.originals.crc32c(sample));
  const grouping = {
    topic: "t",
    partitionMetadata: [0, 1, 2],
    messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 7}`, value: `${i}` })),
    partitioner: ({ message }: { message: unknown }) =>
      Number((message as { key: string }).key.slice(1)) % 3,
  };
  same(
    "groupMessagesPerPartition",
    () => groupMessagesPerPartition(grouping),
    () => parts.originals.grouping(grouping),
  );
  const records: RecordArgs[] = [
    { key: "user_1", value: Buffer.from('{"a":1}'), offsetDelta: 3, timestampDelta: 1_000 },
    { key: null, value: Buffer.alloc(600, 1), offsetDelta: 70_000, timestampDelta: -(2 ** 35) },
  ];
  const record = parts.replacements.record as (args: RecordArgs) => InstanceType<EncoderClass>;
  same(
    "Record",
    () => records.map((args) => [...record(args).buffer]),
    () => records.map((args) => [...parts.originals.record(args).buffer]),
  );
  return problems;
}
