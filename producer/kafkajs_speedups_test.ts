import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
// @ts-types="./kafkajs_encoder.d.ts"
import Encoder from "kafkajs/src/protocol/encoder.js";
import Long from "kafkajs/src/utils/long.js";
import produceV3Untyped from "kafkajs/src/protocol/requests/produce/v3/request.js";
import { printedJson } from "../testing/command_output.ts";
import { sampleProduceRequest } from "../testing/producer_kafkajs_request.ts";
import { crc32c } from "./crc32c.ts";
import { fastRecord, groupMessagesPerPartition } from "./kafkajs_fast_parts.ts";
import {
  describeSpeedups,
  installKafkaJsSpeedups,
  type KafkaJsParts,
  kafkaJsParts,
  type KafkaJsSpeedups,
} from "./kafkajs_speedups.ts";

// Typed by hand: KafkaJS's JSDoc for this module is malformed (read as a string argument).
const produceV3 = produceV3Untyped as unknown as (
  request: unknown,
) => { encode(): Promise<Encoder> };

const NUMBERS = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  127,
  128,
  300,
  16383,
  16384,
  -16385,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 29,
  2 ** 30 - 1,
  -(2 ** 30) + 1,
  2 ** 30,
  -(2 ** 30),
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 40,
  -(2 ** 40),
  Number.MAX_SAFE_INTEGER,
];
const LONGS = [
  Long.fromString("9223372036854775807"),
  Long.fromNumber(-5),
  "12345",
  "-99999999999",
];

/** KafkaJS's parts in this process, with the speedups installed (the check passes here). */
function parts(): KafkaJsParts {
  installKafkaJsSpeedups();
  const found = kafkaJsParts();
  assert.ok(found, "the speedups' check failed on the pinned KafkaJS");
  return found;
}

/** Puts KafkaJS's own encoder methods (`fast` false) or the fast ones on the real `Encoder`. */
function useEncoder(fast: boolean): void {
  const { Encoder, methods, fastMethods, sizeOfVarLong, fastSizeOfVarLong } = parts();
  Object.assign(Encoder.prototype, fast ? fastMethods : methods);
  Encoder.sizeOfVarLong = fast ? fastSizeOfVarLong : sizeOfVarLong;
}

/** Runs `fn` with KafkaJS's own encoder, then with the speedups, and returns both results. */
async function both<T>(fn: () => T | Promise<T>): Promise<[T, T]> {
  try {
    useEncoder(false);
    const original = await fn();
    useEncoder(true);
    const fast = await fn();
    return [original, fast];
  } finally {
    useEncoder(true);
  }
}

function bytes(encoder: Encoder): number[] {
  return [...encoder.buffer];
}

Deno.test("varints, unsigned varints and varlongs encode to the same bytes as KafkaJS's", async () => {
  for (const value of NUMBERS) {
    const [a, b] = await both(() => [
      bytes(new Encoder().writeVarInt(value)),
      bytes(new Encoder().writeUVarInt(value)),
      bytes(new Encoder().writeVarLong(value)),
      Encoder.sizeOfVarLong(value),
    ]);
    assert.deepEqual(b, a, `value ${value}`);
  }
  const [a, b] = await both(() => {
    try {
      return bytes(new Encoder().writeVarLong(1.5));
    } catch (error) {
      return (error as Error).name;
    }
  });
  assert.equal(b, a, "a fraction fails the same way");
  for (const value of LONGS) {
    const [a, b] = await both(
      () => [bytes(new Encoder().writeVarLong(value)), Encoder.sizeOfVarLong(value)],
    );
    assert.deepEqual(b, a, `long ${value}`);
  }
});

Deno.test("raw bytes appended across many growths give the same bytes", async () => {
  const [a, b] = await both(() => {
    const encoder = new Encoder(1);
    for (let i = 0; i < 300; i++) {
      encoder.writeBufferInternal(Buffer.alloc(i * 7, i));
      encoder.writeVarIntBytes(Buffer.from(`value ${i}`));
      encoder.writeVarIntBytes(`text ${i} é`);
    }
    return bytes(encoder);
  });
  assert.ok(a.length > 300_000);
  assert.deepEqual(b, a);
});

Deno.test("appending encoders gives the same bytes and still refuses what is not an encoder", async () => {
  const [a, b] = await both(() => {
    const parts = [new Encoder().writeVarInt(300), new Encoder(), new Encoder().writeInt8(7)];
    const big = new Encoder(1);
    for (let i = 0; i < 600; i++) big.writeVarInt(i * 1000);
    return [
      bytes(new Encoder().writeEncoderArray(parts)),
      bytes(new Encoder().writeEncoder(parts[0]).writeEncoder(big)),
    ];
  });
  assert.deepEqual(b, a);
  useEncoder(true);
  assert.throws(() => new Encoder().writeEncoder({} as Encoder), /instance of Encoder/);
  assert.throws(() => new Encoder().writeEncoderArray([{} as Encoder]), /instance of Encoder\[\]/);
});

Deno.test("a whole produce request (keys, values, headers, timestamps) encodes to the same bytes", async () => {
  const [a, b] = await both(async () => {
    const request = produceV3(sampleProduceRequest(Long, {
      messages: 300,
      split: 150,
      headers: (i) => i % 5 === 0 ? { trace: `t${i}`, many: ["a", "b"] } : undefined,
    }));
    return bytes(await request.encode());
  });
  assert.ok(a.length > 40_000);
  assert.deepEqual(b, a);
});

Deno.test("installing again reports the same state and installs nothing twice", () => {
  const first = installKafkaJsSpeedups();
  const methods = { ...Encoder.prototype };
  assert.equal(installKafkaJsSpeedups(), first);
  assert.deepEqual({ ...Encoder.prototype }, methods);
  assert.equal(Encoder.prototype.writeUVarInt, parts().fastMethods.writeUVarInt);
  assert.equal(bytes(new Encoder().writeVarInt(300)).length, 2);
});

Deno.test("the fast CRC-32C has the standard check value and matches KafkaJS's at every length", () => {
  const original = parts().originals.crc32c;
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), original(Buffer.alloc(0)));
  let seed = 1;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (const length of [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 1000, 65_537]) {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = next();
    assert.equal(crc32c(bytes), original(bytes), `length ${length}`);
  }
});

Deno.test("grouping messages per partition gives KafkaJS's groups, in the same order", () => {
  const original = parts().originals.grouping;
  const messages = Array.from(
    { length: 500 },
    (_, i) => ({ key: `user_${i % 37}`, value: String(i) }),
  );
  const partitioner = ({ message }: { message: unknown }) =>
    Number((message as { key: string }).key.slice(5)) % 6;
  const args = { topic: "t", partitionMetadata: [1, 2, 3, 4, 5, 6], messages, partitioner };
  const fast = groupMessagesPerPartition(args);
  assert.deepEqual(fast, original(args));
  assert.deepEqual(Object.keys(fast).sort(), ["0", "1", "2", "3", "4", "5"]);
  assert.deepEqual(groupMessagesPerPartition({ ...args, partitionMetadata: [] }), {});
  assert.deepEqual(original({ ...args, partitionMetadata: [] }), {});
});

/** The speedups a fresh process gets when it imports `imports` first, then installs them. */
function speedupsAfter(imports: readonly string[]): Promise<KafkaJsSpeedups> {
  const url = (path: string) => new URL(path, import.meta.url).href;
  return printedJson([
    "eval",
    `for (const specifier of ${JSON.stringify(imports)}) await import(specifier);
     const { installKafkaJsSpeedups } = await import(${
      JSON.stringify(url("./kafkajs_speedups.ts"))
    });
     console.log(JSON.stringify(installKafkaJsSpeedups()));`,
  ]);
}

Deno.test("the producer's modules, imported in any order, load no KafkaJS before the sink installs every speedup", async () => {
  const url = (path: string) => new URL(path, import.meta.url).href;
  const all = { encoder: true, crc32c: true, grouping: true, record: true };
  for (
    const imports of [
      [url("./kafka_sink.ts")],
      [url("./mod.ts"), url("./run.ts"), url("./kafka_sink.ts")],
      ["@activity/shared", url("./kafka_sink.ts"), url("./main.ts")],
    ]
  ) {
    assert.deepEqual(await speedupsAfter(imports), { installed: all, problems: [] }, `${imports}`);
  }
});

Deno.test("with KafkaJS loaded before the speedups, the swap it made impossible is left out and the reason named", async () => {
  // KafkaJS loads the CRC and record modules with its first produce request, so those still go in.
  const state = await speedupsAfter(["kafkajs"]);
  assert.deepEqual(state.installed, { encoder: true, crc32c: true, grouping: false, record: true });
  assert.equal(state.problems.length, 1);
  assert.match(
    state.problems[0],
    /^grouping: kafkajs\/src\/producer\/sendMessages\.js was loaded before/,
  );
  assert.match(describeSpeedups(state), /^all but grouping: grouping: /);
});

Deno.test("records without the zero-filled buffer are byte for byte KafkaJS's records", () => {
  const original = parts().originals.record;
  const fast = fastRecord(Encoder, original);
  const cases = [
    { key: "user_1", value: Buffer.from('{"a":1}') },
    { key: Buffer.from("k"), value: Buffer.alloc(0), offsetDelta: 1999, timestampDelta: 0 },
    { key: null, value: "text value é", offsetDelta: 70_000, timestampDelta: -5 },
    { key: "k", value: Buffer.alloc(40_000, 7), timestampDelta: 2 ** 33 },
    { key: "k", value: null, timestampDelta: -(2 ** 35) },
    { key: "k", value: Buffer.from("v"), headers: { trace: "t", many: ["a", "b"] } },
    { key: "k", value: Buffer.from("v"), headers: {} },
  ];
  for (const args of cases) {
    assert.deepEqual(bytes(fast(args)), bytes(original(args)), JSON.stringify(args).slice(0, 80));
  }
});

function sampleRequest(args: string[]): Promise<{ speedups: unknown; base64: string }> {
  const script = fileURLToPath(new URL("../testing/producer_kafkajs_request.ts", import.meta.url));
  return printedJson(["run", "-A", script, ...args]);
}

Deno.test("with every speedup in place, KafkaJS encodes a produce request to the same bytes", async () => {
  const [original, fast] = await Promise.all([sampleRequest([]), sampleRequest(["--speedups"])]);
  assert.deepEqual(fast.speedups, {
    installed: { encoder: true, crc32c: true, grouping: true, record: true },
    problems: [],
  });
  assert.equal(original.speedups, null);
  assert.ok(original.base64.length > 50_000);
  assert.equal(fast.base64, original.base64);
});
