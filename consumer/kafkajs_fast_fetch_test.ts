import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { fastBatchClass } from "./kafkajs_fast_batch.ts";
import {
  type BatchDecoder,
  fastRecordBatchDecoder,
  type FetchedRecord,
} from "./kafkajs_fast_fetch.ts";
import type { FetchParts } from "./kafkajs_fetch_check.ts";
import {
  decodeAll,
  encodeBatches,
  eventBatch,
  fingerprint,
  guardBatches,
  type SampleBatch,
  type SampleRecord,
} from "./kafkajs_fetch_samples.ts";
import { installKafkaJsFetchSpeedups, kafkaJsFetchParts } from "./kafkajs_fetch_speedups.ts";

/** KafkaJS's parts in this process (the check passes on the pinned KafkaJS). */
async function parts(): Promise<FetchParts> {
  await installKafkaJsFetchSpeedups();
  const found = await kafkaJsFetchParts();
  assert.ok(found, "the fetch speedups' check failed on the pinned KafkaJS");
  return found;
}

/** The fast decoder, counting the records it leaves to KafkaJS's record decoder. */
function countingFastDecoder(found: FetchParts): { decode: BatchDecoder; leftToKafkaJs(): number } {
  let left = 0;
  const recordDecoder = found.decoderParts.recordDecoder;
  const decode = fastRecordBatchDecoder({
    ...found.decoderParts,
    recordDecoder: (decoder, context) => {
      left++;
      return recordDecoder(decoder, context);
    },
  });
  return { decode, leftToKafkaJs: () => left };
}

/** KafkaJS's and the fast decoder's batches from `bytes`, and how many records were left over. */
async function bothDecode(found: FetchParts, bytes: Buffer) {
  const fast = countingFastDecoder(found);
  const theirs = await decodeAll(found.originals.record_batch, found.Decoder, bytes);
  const ours = await decodeAll(fast.decode, found.Decoder, bytes);
  return { theirs, ours, left: fast.leftToKafkaJs() };
}

function records(batches: unknown[]): FetchedRecord[] {
  return batches.flatMap((batch) => (batch as { records?: FetchedRecord[] }).records ?? []);
}

Deno.test("record batches decode to KafkaJS's objects: keys, nulls, headers, control, append time, gzip", async () => {
  const found = await parts();
  const bytes = Buffer.concat(await encodeBatches(found.encoders, guardBatches()));
  const { theirs, ours, left } = await bothDecode(found, bytes);
  assert.equal(ours.length, 8);
  assert.equal(records(theirs).length, 27);
  assert.equal(fingerprint(ours), fingerprint(theirs));
  // Only the two records whose timestamp delta is a varlong of over 7 bytes go to KafkaJS.
  assert.equal(left, 2);
  const byOffset = new Map(records(ours).map((record) => [record.offset, record]));
  assert.deepEqual(byOffset.get("6")!.headers.many, [
    Buffer.from("a"),
    Buffer.from("b"),
    Buffer.from("c"),
  ]);
  assert.equal(byOffset.get("10")!.isControlRecord, true);
  assert.equal(byOffset.get("11")!.timestamp, "1780000009999");
  assert.equal(byOffset.get("2")!.key, null);
  assert.ok(Buffer.isBuffer(byOffset.get("0")!.value));
});

Deno.test("offsets and timestamps beyond 2^53 are summed exactly, as BigInts", async () => {
  const found = await parts();
  const bytes = Buffer.concat(
    await encodeBatches(found.encoders, [{
      firstOffset: "9223372036854775800",
      firstTimestamp: "9007199254740990",
      maxTimestamp: "9007199254740990",
      records: [0, 1, 2, 3, 6].map((i) => ({
        key: "k",
        value: "v",
        offsetDelta: i,
        timestampDelta: i,
      })),
    }]),
  );
  const { theirs, ours, left } = await bothDecode(found, bytes);
  assert.equal(left, 0);
  assert.equal(fingerprint(ours), fingerprint(theirs));
  assert.deepEqual(records(ours).map((record) => [record.offset, record.timestamp]), [
    ["9223372036854775800", "9007199254740990"],
    ["9223372036854775801", "9007199254740991"],
    ["9223372036854775802", "9007199254740992"],
    ["9223372036854775803", "9007199254740993"],
    ["9223372036854775806", "9007199254740996"],
  ]);
});

/** A deterministic pseudo-random generator (a linear congruential one). */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * below);
  };
}

const BASES = ["0", "17", "-3", "4503599627370495", "9007199254740000", "9223372036854000000"];

function randomBatch(next: (below: number) => number, gzip: boolean): SampleBatch {
  const count = 1 + next(40);
  let offsetDelta = 0;
  const records: SampleRecord[] = Array.from({ length: count }, () => {
    offsetDelta += 1 + (next(4) === 0 ? next(100_000) : 0);
    const key = [null, `user_${next(1000)}`, Buffer.alloc(next(20), next(256))][next(3)];
    const size = next(10) === 0 ? 20_000 + next(50_000) : next(400);
    const value = next(15) === 0 ? null : Buffer.alloc(size, next(256));
    const timestampDelta = [0, next(1000) - 500, next(2 ** 30) * 2 ** 17, -next(2 ** 30)][next(4)];
    const headers = next(5) === 0
      ? Object.fromEntries(
        Array.from({ length: 1 + next(4) }, (_, i) => [
          `h${next(3)}_${i % 2}`,
          next(2) === 0 ? `v${i}` : [`a${i}`, `b${i}`],
        ]),
      )
      : undefined;
    return { key, value, offsetDelta, timestampDelta, headers };
  });
  return {
    firstOffset: BASES[next(BASES.length)],
    firstTimestamp: BASES[next(BASES.length)],
    maxTimestamp: String(1_780_000_000_000 + next(1000)),
    records,
    gzip,
    flags: [0, 0, 0, 0x08, 0x20][next(5)],
    transactional: next(4) === 0,
    producerId: String(next(10)),
  };
}

Deno.test("seeded random batches (sizes, gaps, bases near 2^53 and 2^63, headers, gzip) decode alike", async () => {
  const found = await parts();
  const next = random(20261130);
  let total = 0;
  for (let round = 0; round < 12; round++) {
    const batches = Array.from({ length: 1 + next(5) }, () => randomBatch(next, next(4) === 0));
    const bytes = Buffer.concat(await encodeBatches(found.encoders, batches));
    const { theirs, ours, left } = await bothDecode(found, bytes);
    assert.equal(left, 0, `round ${round}`);
    assert.equal(fingerprint(ours), fingerprint(theirs), `round ${round}`);
    total += records(ours).length;
  }
  assert.ok(total > 500, `${total} records compared`);
});

Deno.test("damaged or cut records are left to KafkaJS, which fails or decodes them as it would", async () => {
  const found = await parts();
  const next = random(7);
  // Short keys and values, so that most bytes are lengths, deltas and header counts.
  const [clean] = await encodeBatches(found.encoders, [{
    firstOffset: "100",
    firstTimestamp: "1780000000000",
    maxTimestamp: "1780000000000",
    records: Array.from({ length: 30 }, (_, i) => ({
      key: i % 4 === 0 ? null : `k${i}`,
      value: "v".repeat(i % 5),
      offsetDelta: i,
      timestampDelta: i * 1000,
      headers: i % 3 === 0 ? { h: `${i}` } : undefined,
    })),
  }]);
  let leftOver = 0;
  for (let round = 0; round < 300; round++) {
    const bytes = Buffer.from(clean);
    // Only the records (after the 61-byte batch header): damaged headers are KafkaJS's code.
    for (let flips = 1 + next(3); flips > 0; flips--) {
      bytes[61 + next(bytes.length - 61)] = [0xff, 0x80, 0x00, 0x01, next(256)][next(5)];
    }
    const cut = next(3) === 0 ? bytes.subarray(0, 61 + next(bytes.length - 61)) : bytes;
    const { theirs, ours, left } = await bothDecode(found, cut);
    assert.equal(fingerprint(ours), fingerprint(theirs), `round ${round}`);
    leftOver += left;
  }
  assert.ok(leftOver > 50, `KafkaJS's own code decided ${leftOver} records`);
});

Deno.test("a __proto__ header is left to KafkaJS, which keeps it as a plain key", async () => {
  const found = await parts();
  const bytes = Buffer.concat(
    await encodeBatches(found.encoders, [{
      firstOffset: "0",
      firstTimestamp: "0",
      maxTimestamp: "0",
      records: [{ key: "k", value: "v", headers: JSON.parse('{"__proto__": "p", "a": "b"}') }],
    }]),
  );
  const { theirs, ours, left } = await bothDecode(found, bytes);
  assert.equal(left, 1);
  assert.equal(fingerprint(ours), fingerprint(theirs));
  assert.ok(Object.hasOwn(records(ours)[0].headers, "__proto__"));
});

Deno.test("a realistic fetch of 6 partitions decodes alike without leaving a record to KafkaJS", async () => {
  const found = await parts();
  for (let partition = 0; partition < 6; partition++) {
    const batches = Array.from(
      { length: 4 },
      (_, i) => eventBatch(partition * 10_000 + i * 250, 250),
    );
    const bytes = Buffer.concat(await encodeBatches(found.encoders, batches));
    const { theirs, ours, left } = await bothDecode(found, bytes);
    assert.equal(left, 0);
    assert.equal(records(ours).length, 1000);
    assert.equal(fingerprint(ours), fingerprint(theirs));
  }
});

Deno.test("the fast Batch keeps KafkaJS's messages, fields and answers for any fetched offset", async () => {
  const found = await parts();
  const batches = [...guardBatches(), eventBatch(30, 40)];
  const bytes = Buffer.concat(await encodeBatches(found.encoders, batches));
  const messages = records(await decodeAll(found.originals.record_batch, found.Decoder, bytes));
  const FastBatch = fastBatchClass(found.batchParts);
  const methods = ["isEmpty", "isEmptyDueToFiltering", "isEmptyControlRecord", "firstOffset"]
    .concat(["lastOffset", "offsetLag", "offsetLagLow", "isEmptyDueToLogCompactedMessages"]);
  const fetchedOffsets: unknown[] = ["0", "3", "9", "31", "70", "-5", "9007199254740991"]
    .concat(["9007199254740993", "999999999999999", "1000000000000000", "0x10", " 12", "007"])
    .concat(["", "-"]);
  fetchedOffsets.push(12, 12n);
  for (const fetched of fetchedOffsets) {
    for (const abortedTransactions of [[], [{ producerId: "4242", firstOffset: "9" }]]) {
      const data = { partition: 1, highWatermark: "75", messages, abortedTransactions };
      const [theirs, ours] = [found.originals.batch, FastBatch].map((Class) => {
        try {
          const batch = new Class("t", fetched, data);
          return [batch, methods.map((name) => (batch[name] as () => unknown)())];
        } catch (error) {
          return error;
        }
      });
      assert.equal(fingerprint(ours), fingerprint(theirs), `fetched ${String(fetched)}`);
      if (Array.isArray(ours)) assert.ok(ours[0] instanceof found.originals.batch);
    }
  }
});
