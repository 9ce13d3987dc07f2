import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  checkKafkaJs,
  ENCODER_MODULE,
  type KafkaJsModules,
  PINNED_KAFKAJS_VERSION,
  SWAPS,
} from "./kafkajs_check.ts";
import {
  describeSpeedups,
  installKafkaJsSpeedups,
  kafkaJsParts,
  SPEEDUP_NAMES,
} from "./kafkajs_speedups.ts";
import type { EncoderClass } from "./kafkajs_fast_parts.ts";

/** A module cache of our own: what `load` gives, what was loaded, and every replacement made. */
interface FakeKafkaJs extends KafkaJsModules {
  readonly Encoder: EncoderClass;
  readonly replaced: string[];
  /** The encoder's own methods and statics, to see that nothing was touched. */
  snapshot(): Record<string, unknown>;
}

/**
 * KafkaJS 2.2.4's real parts behind a fake cache: a subclass of its `Encoder` holding the
 * original methods (so installing into it leaves the real one alone), and the original modules.
 */
function fakeKafkaJs(
  change: { version?: string; modules?: Record<string, unknown>; missing?: string[] } = {},
): FakeKafkaJs {
  installKafkaJsSpeedups();
  const real = kafkaJsParts()!;
  const Encoder = class extends real.Encoder {} as unknown as EncoderClass;
  Object.assign(Encoder.prototype, real.methods);
  Encoder.sizeOfVarLong = real.sizeOfVarLong;
  const modules: Record<string, unknown> = {
    [ENCODER_MODULE]: Encoder,
    [SWAPS.crc32c.module]: real.originals.crc32c,
    [SWAPS.grouping.module]: real.originals.grouping,
    [SWAPS.record.module]: real.originals.record,
    ...change.modules,
  };
  for (const path of change.missing ?? []) delete modules[path];
  const loaded = new Set<string>();
  const replaced: string[] = [];
  return {
    Encoder,
    replaced,
    version: () => change.version ?? PINNED_KAFKAJS_VERSION,
    load(path) {
      if (!(path in modules)) throw new Error(`Cannot find module 'kafkajs/${path}'`);
      loaded.add(path);
      return modules[path];
    },
    isLoaded: (path) => loaded.has(path),
    replace(path, exports) {
      replaced.push(path);
      modules[path] = exports;
    },
    snapshot: () => ({
      ...Object.fromEntries(
        Object.getOwnPropertyNames(Encoder.prototype).map((name) => [
          name,
          (Encoder.prototype as unknown as Record<string, unknown>)[name],
        ]),
      ),
      sizeOfVarLong: Encoder.sizeOfVarLong,
    }),
  };
}

function assertNothingInstalled(fake: FakeKafkaJs, run: () => void): void {
  const before = fake.snapshot();
  run();
  assert.deepEqual(fake.snapshot(), before, "the encoder was changed");
  assert.deepEqual(fake.replaced, [], "modules were swapped");
}

Deno.test("the pinned KafkaJS passes the check, and installing puts every speedup into it", () => {
  // The control for the tests below: the same fake cache, unchanged, gets everything.
  const fake = fakeKafkaJs();
  assert.equal(checkKafkaJs(fake).ok, true);
  const before = fake.snapshot();
  const state = installKafkaJsSpeedups(fake);
  assert.deepEqual(state, {
    installed: { encoder: true, crc32c: true, grouping: true, record: true },
    problems: [],
  });
  assert.notDeepEqual(fake.snapshot(), before);
  assert.deepEqual(fake.replaced.sort(), Object.values(SWAPS).map((swap) => swap.module).sort());
});

Deno.test("another KafkaJS version gets no speedup at all, and the reason names both versions", () => {
  const fake = fakeKafkaJs({ version: "2.3.0" });
  assertNothingInstalled(fake, () => {
    const state = installKafkaJsSpeedups(fake);
    assert.deepEqual(Object.values(state.installed), SPEEDUP_NAMES.map(() => false));
    assert.deepEqual(state.problems, ["KafkaJS is 2.3.0, the speedups are made for 2.2.4"]);
    assert.equal(
      describeSpeedups(state),
      "none: KafkaJS is 2.3.0, the speedups are made for 2.2.4",
    );
  });
  const unreadable = fakeKafkaJs();
  unreadable.version = () => {
    throw new Error("no package.json");
  };
  assertNothingInstalled(unreadable, () => {
    assert.match(installKafkaJsSpeedups(unreadable).problems[0], /version: no package.json/);
  });
});

Deno.test("internals of another shape get no speedup at all, and each difference is named", () => {
  const fake = fakeKafkaJs({
    missing: [SWAPS.grouping.module],
    modules: { [SWAPS.record.module]: { default: () => {} } },
  });
  const prototype = fake.Encoder.prototype as unknown as Record<string, unknown>;
  prototype.writeUVarInt = function (_value: number, _extra: number) {};
  prototype.writeVarLong = undefined;
  assertNothingInstalled(fake, () => {
    const state = installKafkaJsSpeedups(fake);
    assert.deepEqual(Object.values(state.installed), SPEEDUP_NAMES.map(() => false));
    assert.deepEqual(state.problems, [
      "Encoder.prototype.writeUVarInt takes 2 parameters, not 1",
      "Encoder.prototype.writeVarLong is undefined, not a function",
      "kafkajs/src/producer/groupMessagesPerPartition.js cannot be loaded: " +
      "Cannot find module 'kafkajs/src/producer/groupMessagesPerPartition.js'",
      "kafkajs/src/protocol/recordBatch/record/v0/index.js exports object, not a function",
    ]);
  });
});

Deno.test("a method of the right shape that writes other bytes gets no speedup at all", () => {
  const fake = fakeKafkaJs();
  const prototype = fake.Encoder.prototype as unknown as Record<string, unknown>;
  const own = prototype.writeBufferInternal as (this: unknown, buffer: Uint8Array) => void;
  // Same name and arity, other behaviour: bytes reversed, as a changed KafkaJS might.
  prototype.writeBufferInternal = function (this: unknown, buffer: Uint8Array) {
    own.call(this, Buffer.from(buffer).reverse());
  };
  assertNothingInstalled(fake, () => {
    const state = installKafkaJsSpeedups(fake);
    assert.deepEqual(Object.values(state.installed), SPEEDUP_NAMES.map(() => false));
    assert.match(state.problems.join("\n"), /the fast encoder methods differs from KafkaJS's/);
  });
});
