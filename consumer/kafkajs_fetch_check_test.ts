import assert from "node:assert/strict";
import { type KafkaJsModules, nodeKafkaJsModules } from "@activity/shared/kafkajs_modules";
import { checkKafkaJsFetch, FETCH_MODULES, FETCH_SWAPS } from "./kafkajs_fetch_check.ts";
import type { BatchClass } from "./kafkajs_fast_batch.ts";
import type { BatchDecoder, DecoderClass, FetchedRecord } from "./kafkajs_fast_fetch.ts";
import {
  describeFetchSpeedups,
  installKafkaJsFetchSpeedups,
  kafkaJsFetchParts,
} from "./kafkajs_fetch_speedups.ts";

/** A module cache of our own: what `load` gives, and every replacement made. */
interface FakeKafkaJs extends KafkaJsModules {
  readonly replaced: string[];
}

/**
 * KafkaJS 2.2.4's real modules behind a fake cache (its own record-batch decoder and `Batch`,
 * not the stand-ins this process has installed), with `change` applied.
 */
async function fakeKafkaJs(
  change: { version?: string; modules?: Record<string, unknown>; missing?: string[] } = {},
): Promise<FakeKafkaJs> {
  await installKafkaJsFetchSpeedups();
  const real = (await kafkaJsFetchParts())!;
  const cache = nodeKafkaJsModules();
  const modules: Record<string, unknown> = {
    ...Object.fromEntries(Object.values(FETCH_MODULES).map((path) => [path, cache.load(path)])),
    [FETCH_SWAPS.record_batch.module]: real.originals.record_batch,
    [FETCH_SWAPS.batch.module]: real.originals.batch,
    ...change.modules,
  };
  for (const path of change.missing ?? []) delete modules[path];
  const replaced: string[] = [];
  return {
    replaced,
    version: () => change.version ?? "2.2.4",
    load(path) {
      if (!(path in modules)) throw new Error(`Cannot find module 'kafkajs/${path}'`);
      return modules[path];
    },
    isLoaded: () => false,
    replace(path, exports) {
      replaced.push(path);
      modules[path] = exports;
    },
  };
}

const NONE = { record_batch: false, batch: false };

Deno.test("the pinned KafkaJS passes the fetch check, and installing swaps both modules", async () => {
  // The control for the tests below: the same fake cache, unchanged, gets everything.
  const fake = await fakeKafkaJs();
  assert.equal((await checkKafkaJsFetch(fake)).ok, true);
  const state = await installKafkaJsFetchSpeedups(fake);
  assert.deepEqual(state, { installed: { record_batch: true, batch: true }, problems: [] });
  assert.deepEqual(fake.replaced.sort(), [
    FETCH_SWAPS.batch.module,
    FETCH_SWAPS.record_batch.module,
  ]);
  assert.equal(describeFetchSpeedups(state), "all");
});

Deno.test("another KafkaJS version gets no fetch speedup, and the reason names both versions", async () => {
  const fake = await fakeKafkaJs({ version: "2.3.0" });
  const state = await installKafkaJsFetchSpeedups(fake);
  assert.deepEqual(state, {
    installed: NONE,
    problems: ["KafkaJS is 2.3.0, the speedups are made for 2.2.4"],
  });
  assert.deepEqual(fake.replaced, []);
  assert.equal(
    describeFetchSpeedups(state),
    "none: KafkaJS is 2.3.0, the speedups are made for 2.2.4",
  );
});

Deno.test("missing or reshaped internals get no fetch speedup, and each difference is named", async () => {
  const Decoder = nodeKafkaJsModules().load(FETCH_MODULES.decoder) as DecoderClass;
  const Reshaped = class extends (Decoder as unknown as new (buffer: unknown) => object) {
    readVarLong(_signed: boolean) {}
  };
  const fake = await fakeKafkaJs({
    missing: [FETCH_MODULES.filterAbortedMessages],
    modules: {
      [FETCH_MODULES.decoder]: Reshaped,
      [FETCH_MODULES.errors]: {},
      [FETCH_SWAPS.batch.module]: class Batch {
        constructor(_topic: string, _fetchedOffset: string, _data: unknown) {}
        isEmpty() {}
      },
    },
  });
  const state = await installKafkaJsFetchSpeedups(fake);
  assert.deepEqual(state.installed, NONE);
  assert.deepEqual(fake.replaced, []);
  assert.deepEqual(state.problems, [
    "kafkajs/src/consumer/filterAbortedMessages.js cannot be loaded: " +
    "Cannot find module 'kafkajs/src/consumer/filterAbortedMessages.js'",
    "Decoder.prototype.readVarLong takes 1 parameters, not 0",
    "KafkaJSPartialMessageError is undefined, not a function",
    ...[
      "isEmptyIncludingFiltered",
      "isEmptyDueToFiltering",
      "isEmptyControlRecord",
      "isEmptyDueToLogCompactedMessages",
      "firstOffset",
      "lastOffset",
      "offsetLag",
      "offsetLagLow",
    ].map((name) => `Batch.prototype.${name} is undefined, not a function`),
  ]);
});

Deno.test("a record-batch decoder or Batch of the right shape that gives other objects gets no speedup", async () => {
  const real = (await kafkaJsFetchParts())!;
  // Same names and shapes, other results, as a changed KafkaJS might give.
  const ownDecoder = real.originals.record_batch;
  const sized: BatchDecoder = async (decoder) => {
    const batch = await ownDecoder(decoder);
    return { ...batch, records: batch.records.map((r: FetchedRecord) => ({ ...r, size: 1 })) };
  };
  const Counted = class extends real.originals.batch {
    constructor(topic: string, fetched: unknown, data: ConstructorParameters<BatchClass>[2]) {
      super(topic, fetched, data);
      this.count = (this.messages as unknown[]).length;
    }
  } as unknown as BatchClass;
  for (
    const [modules, differs] of [
      [{ [FETCH_SWAPS.record_batch.module]: sized }, "the fast record-batch decoder differs"],
      [{ [FETCH_SWAPS.batch.module]: Counted }, "the fast Batch differs"],
    ] as const
  ) {
    const fake = await fakeKafkaJs({ modules });
    const state = await installKafkaJsFetchSpeedups(fake);
    assert.deepEqual(state.installed, NONE);
    assert.deepEqual(fake.replaced, []);
    assert.equal(state.problems.length, 1);
    assert.match(state.problems[0], new RegExp(`^${differs} from KafkaJS's on sample 1, item 1`));
  }
});

Deno.test("a failing sample encoder means no speedup, and says the comparison could not be made", async () => {
  const fake = await fakeKafkaJs({
    modules: {
      [FETCH_MODULES.recordBatchEncoder]: {
        RecordBatch: (_args: unknown) => Promise.reject(new Error("no encoder today")),
      },
    },
  });
  const state = await installKafkaJsFetchSpeedups(fake);
  assert.deepEqual(state.installed, NONE);
  assert.deepEqual(state.problems, [
    "the fast record-batch decoder could not be compared: no encoder today",
  ]);
});

Deno.test("a check that breaks in a way nobody foresaw installs nothing and says why", async () => {
  // A Decoder whose prototype cannot even be read: the check itself throws.
  const hostile = new Proxy(function Decoder() {}, {
    get(_, property) {
      if (property === "prototype") throw new TypeError("no prototype here");
      return undefined;
    },
  });
  const fake = await fakeKafkaJs({ modules: { [FETCH_MODULES.decoder]: hostile } });
  const state = await installKafkaJsFetchSpeedups(fake);
  assert.deepEqual(state.installed, NONE);
  assert.match(
    state.problems.join(" "),
    /checking KafkaJS failed unexpectedly: .*no prototype here/,
  );
  assert.deepEqual(fake.replaced, []);
});
