/**
 * The guard in front of the consumer's KafkaJS fetch speedups: before
 * anything is replaced, the installed KafkaJS must be the pinned release,
 * every module, class, method and field the stand-ins replace or use must be
 * there with the expected shape, and the stand-ins must give the same objects
 * as KafkaJS's own code on sample batches written by KafkaJS's own encoders
 * (`kafkajs_fetch_samples.ts`). It only reads (and loads modules that load
 * neither module whose requirer would keep a swap out): KafkaJS is reached
 * through `KafkaJsModules`, the real module cache or a fake one in tests.
 */
import { Buffer } from "node:buffer";
import {
  checkVersion,
  describeError,
  expectArity,
  type KafkaJsModules,
  loadFunction,
  loadModule,
} from "@activity/shared/kafkajs_modules";
import { type BatchClass, type BatchParts, fastBatchClass } from "./kafkajs_fast_batch.ts";
import {
  type BatchDecoder,
  type BatchDecoderParts,
  type DecoderClass,
  fastRecordBatchDecoder,
} from "./kafkajs_fast_fetch.ts";
import {
  decodeAll,
  encodeBatches,
  fingerprint,
  guardBatches,
  type SampleEncoders,
} from "./kafkajs_fetch_samples.ts";

/** KafkaJS modules swapped whole, and the one module that loads each (too late once it has). */
export const FETCH_SWAPS = {
  record_batch: {
    module: "src/protocol/recordBatch/v0/decoder.js",
    loadedBy: "src/protocol/requests/fetch/v4/decodeMessages.js",
  },
  batch: { module: "src/consumer/batch.js", loadedBy: "src/consumer/consumerGroup.js" },
} as const;

/** A module swapped whole. */
export type FetchSwapName = keyof typeof FETCH_SWAPS;

/** The other KafkaJS modules the stand-ins (or the samples) use. */
export const FETCH_MODULES = {
  decoder: "src/protocol/decoder.js",
  errors: "src/errors.js",
  compression: "src/protocol/message/compression/index.js",
  timestampTypes: "src/protocol/timestampTypes.js",
  recordDecoder: "src/protocol/recordBatch/record/v0/decoder.js",
  long: "src/utils/long.js",
  filterAbortedMessages: "src/consumer/filterAbortedMessages.js",
  recordBatchEncoder: "src/protocol/recordBatch/v0/index.js",
  recordEncoder: "src/protocol/recordBatch/record/v0/index.js",
} as const;

/** `Decoder` methods the stand-ins call or do the work of, with their declared parameters. */
const DECODER_METHODS: Readonly<Record<string, number>> = {
  readInt8: 0,
  readInt16: 0,
  readInt32: 0,
  readInt64: 0,
  readVarInt: 0,
  readVarLong: 0,
  readVarIntBytes: 0,
  readVarIntString: 0,
  readVarIntArray: 1,
  readAll: 0,
  readArray: 1,
  slice: 1,
  forward: 1,
  canReadBytes: 1,
};

/** `Batch` methods, all kept: they read the fields the fast constructor sets. */
const BATCH_METHODS = [
  "isEmpty",
  "isEmptyIncludingFiltered",
  "isEmptyDueToFiltering",
  "isEmptyControlRecord",
  "isEmptyDueToLogCompactedMessages",
  "firstOffset",
  "lastOffset",
  "offsetLag",
  "offsetLagLow",
] as const;

/** KafkaJS's own parts, as found, and the stand-ins made from them. */
export interface FetchParts {
  readonly Decoder: DecoderClass;
  /** What the stand-ins were made from (tests make variants of them). */
  readonly decoderParts: BatchDecoderParts;
  readonly batchParts: BatchParts;
  readonly originals: { readonly record_batch: BatchDecoder; readonly batch: BatchClass };
  readonly replacements: { readonly record_batch: BatchDecoder; readonly batch: BatchClass };
  readonly encoders: SampleEncoders;
}

/** What the check found: KafkaJS's parts when everything matched, else what differed. */
export type FetchCheck =
  | { readonly ok: true; readonly parts: FetchParts }
  | { readonly ok: false; readonly problems: readonly string[] };

type Loose = Record<string, unknown>;

/** Checks the installed KafkaJS against what the fetch stand-ins expect; changes nothing. */
export async function checkKafkaJsFetch(modules: KafkaJsModules): Promise<FetchCheck> {
  const problems: string[] = [];
  checkVersion(modules, problems);
  const fn = (path: string) => loadFunction(modules, path, problems) as Loose | undefined;
  const object = (path: string) => {
    const loaded = loadModule(modules, path, problems);
    if (loaded === undefined || typeof loaded === "object") return (loaded ?? undefined) as Loose;
    problems.push(`kafkajs/${path} exports ${typeof loaded}, not an object`);
  };
  const Decoder = fn(FETCH_MODULES.decoder);
  const errors = object(FETCH_MODULES.errors);
  const compression = object(FETCH_MODULES.compression);
  const timestampTypes = object(FETCH_MODULES.timestampTypes);
  const recordDecoder = fn(FETCH_MODULES.recordDecoder);
  const Long = fn(FETCH_MODULES.long);
  const filterAbortedMessages = fn(FETCH_MODULES.filterAbortedMessages);
  const recordBatchEncoder = object(FETCH_MODULES.recordBatchEncoder);
  const Record = fn(FETCH_MODULES.recordEncoder);
  const recordBatch = fn(FETCH_SWAPS.record_batch.module);
  const Batch = fn(FETCH_SWAPS.batch.module);
  const expect = (what: string, value: unknown, arity: number) =>
    expectArity(what, value, arity, problems);
  const expectNumber = (what: string, value: unknown) => {
    if (typeof value !== "number") problems.push(`${what} is ${typeof value}, not a number`);
  };
  const prototype = (Decoder?.prototype ?? {}) as Loose;
  if (Decoder) {
    for (const [name, arity] of Object.entries(DECODER_METHODS)) {
      expect(`Decoder.prototype.${name}`, prototype[name], arity);
    }
  }
  if (errors) expect("KafkaJSPartialMessageError", errors.KafkaJSPartialMessageError, 0);
  if (compression) {
    expect("lookupCodecByAttributes", compression.lookupCodecByAttributes, 1);
    expectNumber("compression Types.GZIP", (compression.Types as Loose | undefined)?.GZIP);
  }
  if (timestampTypes) {
    expectNumber("TimestampTypes.LOG_APPEND_TIME", timestampTypes.LOG_APPEND_TIME);
    expectNumber("TimestampTypes.CREATE_TIME", timestampTypes.CREATE_TIME);
  }
  if (recordDecoder) expect(`${FETCH_MODULES.recordDecoder} (its export)`, recordDecoder, 1);
  if (Long) expect("Long.fromValue", Long.fromValue, 1);
  if (filterAbortedMessages) expect("filterAbortedMessages", filterAbortedMessages, 1);
  if (recordBatchEncoder) expect("RecordBatch", recordBatchEncoder.RecordBatch, 1);
  if (Record) expect(`${FETCH_MODULES.recordEncoder} (its export)`, Record, 1);
  if (recordBatch) expect(`${FETCH_SWAPS.record_batch.module} (its export)`, recordBatch, 1);
  if (Batch) {
    expect("Batch (its constructor)", Batch, 3);
    for (const name of BATCH_METHODS) {
      expect(`Batch.prototype.${name}`, (Batch.prototype as Loose)[name], 0);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const decoderParts: BatchDecoderParts = {
    Decoder: Decoder as unknown as DecoderClass,
    PartialMessageError: errors!.KafkaJSPartialMessageError as BatchDecoderParts[
      "PartialMessageError"
    ],
    lookupCodecByAttributes: compression!
      .lookupCodecByAttributes as BatchDecoderParts["lookupCodecByAttributes"],
    timestampTypes: timestampTypes as unknown as BatchDecoderParts["timestampTypes"],
    recordDecoder: recordDecoder as unknown as BatchDecoderParts["recordDecoder"],
  };
  const batchParts: BatchParts = {
    Batch: Batch as unknown as BatchClass,
    Long: Long as unknown as BatchParts["Long"],
    filterAbortedMessages: filterAbortedMessages as unknown as BatchParts["filterAbortedMessages"],
  };
  const parts: FetchParts = {
    Decoder: decoderParts.Decoder,
    decoderParts,
    batchParts,
    originals: {
      record_batch: recordBatch as unknown as BatchDecoder,
      batch: batchParts.Batch,
    },
    replacements: {
      record_batch: fastRecordBatchDecoder(decoderParts),
      batch: fastBatchClass(batchParts),
    },
    encoders: {
      RecordBatch: recordBatchEncoder!.RecordBatch as SampleEncoders["RecordBatch"],
      Record: Record as unknown as SampleEncoders["Record"],
      Long: Long as unknown as SampleEncoders["Long"],
      gzip: (compression!.Types as Loose).GZIP as number,
    },
  };
  problems.push(...await compareOutputs(parts));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, parts };
}

/** Each stand-in against KafkaJS's own code on the sample batches: a problem for each differing. */
async function compareOutputs(parts: FetchParts): Promise<string[]> {
  const problems: string[] = [];
  let decoded: unknown[];
  try {
    const batches = await encodeBatches(parts.encoders, guardBatches());
    // All the samples, then two of them with the second cut short (a partial batch ends a fetch).
    const inputs = [
      Buffer.concat(batches),
      Buffer.concat([batches[0], batches[1].subarray(0, batches[1].length - 7)]),
    ];
    const runs = [];
    for (const input of inputs) {
      runs.push([
        await decodeAll(parts.originals.record_batch, parts.Decoder, input),
        await decodeAll(parts.replacements.record_batch, parts.Decoder, input),
      ]);
    }
    const differing = firstDifference(runs.flatMap(([theirs, ours]) => [theirs, ours]));
    if (differing !== undefined) {
      problems.push(`the fast record-batch decoder differs from KafkaJS's on ${differing}`);
    }
    decoded = runs[0][0];
  } catch (error) {
    return [`the fast record-batch decoder could not be compared: ${describeError(error)}`];
  }
  try {
    const messages = decoded.flatMap((batch) => (batch as { records?: unknown[] }).records ?? []);
    const cases = ["0", "3", "11", "9007199254740992", "-5", 7, ""].flatMap((fetched) => [
      { fetched, aborted: [] },
      { fetched, aborted: [{ producerId: "4242", firstOffset: "9" }] },
    ]);
    const results = cases.map(({ fetched, aborted }) => {
      const data = { partition: 3, highWatermark: "40", messages, abortedTransactions: aborted };
      return [parts.originals.batch, parts.replacements.batch].map((Class) =>
        outcome(() => {
          const batch = new Class("topic", fetched, data);
          return [
            batch,
            BATCH_METHODS.map((name) => outcome(() => (batch[name] as () => unknown)())),
          ];
        })
      );
    });
    const differing = firstDifference(results.flat());
    if (differing !== undefined) {
      problems.push(`the fast Batch differs from KafkaJS's on ${differing}`);
    }
  } catch (error) {
    problems.push(`the fast Batch could not be compared: ${describeError(error)}`);
  }
  return problems;
}

/** The value, or the error thrown. */
function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    return error;
  }
}

/**
 * Pairs (theirs, ours, theirs, ours, ...) of lists or values: where the first pair differs
 * ("sample 2 of 9"), undefined when none does.
 */
function firstDifference(values: unknown[]): string | undefined {
  for (let pair = 0; pair < values.length; pair += 2) {
    const [theirs, ours] = [values[pair], values[pair + 1]];
    const a = Array.isArray(theirs) ? theirs : [theirs];
    const b = Array.isArray(ours) ? ours : [ours];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (fingerprint(a[i]) !== fingerprint(b[i])) {
        return `sample ${pair / 2 + 1}, item ${i + 1} of ${a.length}`;
      }
    }
  }
  return undefined;
}
