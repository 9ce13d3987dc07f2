import assert from "node:assert/strict";
import { FrameAssembler, KafkaWireError, sizeFramed } from "./kafka_wire.ts";
import { uuidBytes, uuidText, WireReader, WireWriter, ZERO_UUID } from "./kafka_wire.ts";

Deno.test("every primitive reads back as it was written", () => {
  const id = "7c45312a-52bd-48bb-b571-f898eb0849f7";
  const bytes = new WireWriter()
    .bool(true).bool(false).int16(-2).int16(32_767).int32(-2_147_483_648).int32(123_456_789)
    .uvarint(0).uvarint(127).uvarint(128).uvarint(2 ** 32 - 1)
    .uuid(id).uuid(ZERO_UUID)
    .string("ünïcode").string(null).string("")
    .compactString("topic").compactString(null).compactString("")
    .compactArrayLength(3).compactArrayLength(null).compactArrayLength(0)
    .noTaggedFields()
    .bytes();
  const reader = new WireReader(bytes);
  assert.deepEqual([reader.bool("a"), reader.bool("b")], [true, false]);
  assert.deepEqual([reader.int16("c"), reader.int16("d")], [-2, 32_767]);
  assert.deepEqual([reader.int32("e"), reader.int32("f")], [-2_147_483_648, 123_456_789]);
  assert.deepEqual([0, 1, 2, 3].map(() => reader.uvarint("g")), [0, 127, 128, 2 ** 32 - 1]);
  assert.deepEqual([reader.uuid("h"), reader.uuid("i")], [id, ZERO_UUID]);
  assert.deepEqual([reader.string("j"), reader.string("k"), reader.string("l")], [
    "ünïcode",
    null,
    "",
  ]);
  assert.deepEqual(
    [reader.compactString("m"), reader.compactString("n"), reader.compactString("o")],
    ["topic", null, ""],
  );
  // The three array lengths need elements after them; 0 bytes each keeps the bound out of the way.
  assert.deepEqual([0, 1, 2].map(() => reader.compactArrayLength("p", 0)), [3, null, 0]);
  reader.skipTaggedFields("q");
  reader.expectEnd("message");
});

Deno.test("varints use Kafka's encoding: seven bits a byte, low bits first", () => {
  assert.deepEqual([...new WireWriter().uvarint(300).bytes()], [0xac, 0x02]);
  assert.deepEqual([...new WireWriter().uvarint(2 ** 32 - 1).bytes()], [
    0xff,
    0xff,
    0xff,
    0xff,
    0x0f,
  ]);
  assert.throws(() => new WireWriter().uvarint(-1), RangeError);
  assert.throws(() => new WireWriter().uvarint(2 ** 32), RangeError);
});

Deno.test("a varint longer than five bytes or above 32 bits is malformed", () => {
  const tooLong = new WireReader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
  assert.throws(() => tooLong.uvarint("count"), /count: varint longer than 5 bytes/);
  const tooBig = new WireReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x1f));
  assert.throws(() => tooBig.uvarint("count"), /count: varint exceeds 32 bits/);
  const cut = new WireReader(Uint8Array.of(0x80));
  assert.throws(() => cut.uvarint("count"), KafkaWireError);
});

Deno.test("a length larger than the bytes left is malformed, whatever it claims", () => {
  const hugeString = new WireWriter().uvarint(1_000_000_000).raw(new Uint8Array(8)).bytes();
  assert.throws(
    () => new WireReader(hugeString).compactString("host"),
    /host: needs 999999999 bytes at offset 5, only 8 left/,
  );
  const hugeArray = new WireWriter().int32(50_000_000).raw(new Uint8Array(12)).bytes();
  assert.throws(
    () => new WireReader(hugeArray).arrayLength("api keys", 6),
    /api keys: 50000000 elements cannot fit in the 12 bytes left/,
  );
  const hugeCompact = new WireWriter().uvarint(2 ** 32 - 1).bytes();
  assert.throws(() => new WireReader(hugeCompact).compactArrayLength("topics", 1), KafkaWireError);
  const negative = new WireWriter().int16(-5).bytes();
  assert.throws(() => new WireReader(negative).string("client id"), /length -5 is negative/);
  const cut = Uint8Array.of(0, 0, 0);
  assert.throws(() => new WireReader(cut).int32("throttle"), /throttle: needs 4 bytes/);
});

Deno.test("a null array is told apart from an empty one", () => {
  const bytes = new WireWriter().int32(-1).int32(0).compactArrayLength(null).compactArrayLength(0)
    .bytes();
  const reader = new WireReader(bytes);
  assert.equal(reader.arrayLength("a", 4), null);
  assert.equal(reader.arrayLength("b", 4), 0);
  assert.equal(reader.compactArrayLength("c", 4), null);
  assert.equal(reader.compactArrayLength("d", 4), 0);
});

Deno.test("tagged fields of any size are skipped, and a truncated one is malformed", () => {
  const tagged = new WireWriter().uvarint(2)
    .uvarint(0).uvarint(3).raw(Uint8Array.of(1, 2, 3))
    .uvarint(7).uvarint(300).raw(new Uint8Array(300))
    .int16(42).bytes();
  const reader = new WireReader(tagged);
  reader.skipTaggedFields("header");
  assert.equal(reader.int16("after"), 42);
  const truncated = tagged.subarray(0, 20);
  assert.throws(() => new WireReader(truncated).skipTaggedFields("header"), KafkaWireError);
});

Deno.test("a string that is not valid UTF-8 is malformed, not patched with replacement marks", () => {
  // Compact length 1 (written as 2), then a lone UTF-8 lead byte.
  const bytes = new WireWriter().uvarint(2).raw(Uint8Array.of(0xc3)).bytes();
  assert.throws(() => new WireReader(bytes).compactString("topic name"), /not valid UTF-8/);
  assert.throws(() => new WireReader(Uint8Array.of(2)).bool("is_internal"), /0 or 1, got 2/);
});

Deno.test("bytes left after a message are reported as malformed", () => {
  const reader = new WireReader(Uint8Array.of(0, 1, 9));
  reader.int16("error code");
  assert.throws(() => reader.expectEnd("ApiVersions response"), /1 unexpected bytes/);
});

Deno.test("UUIDs convert between 16 bytes and canonical 8-4-4-4-12 text", () => {
  const bytes = Uint8Array.from({ length: 16 }, (_, index) => index * 17);
  const text = uuidText(bytes);
  assert.equal(text, "00112233-4455-6677-8899-aabbccddeeff");
  assert.deepEqual(uuidBytes(text), bytes);
  assert.deepEqual(uuidBytes("00112233445566778899AABBCCDDEEFF"), bytes);
  assert.throws(() => uuidBytes("0011"), /32 hex digits: got "0011"/);
  assert.throws(() => new WireWriter().string("x".repeat(32_768)), RangeError);
});

Deno.test("a response split into one-byte reads is assembled once, whole", () => {
  const message = Uint8Array.from({ length: 37 }, (_, index) => index);
  const framed = sizeFramed(message);
  const assembler = new FrameAssembler({ maxBytes: 1_000 });
  const results = Array.from(framed, (byte) => assembler.push(Uint8Array.of(byte)));
  assert.deepEqual(results.slice(0, -1), new Array(framed.length - 1).fill(undefined));
  assert.deepEqual(results.at(-1), message);
  assert.equal(assembler.received, framed.length);
});

Deno.test("a response larger than one read is assembled from many reads", () => {
  const message = Uint8Array.from({ length: 200_000 }, (_, index) => (index * 31) % 251);
  const framed = sizeFramed(message);
  const assembler = new FrameAssembler({ maxBytes: 1 << 20 });
  let frame: Uint8Array | undefined;
  for (let start = 0; start < framed.length; start += 65_536) {
    assert.equal(frame, undefined);
    frame = assembler.push(framed.subarray(start, start + 65_536));
  }
  assert.deepEqual(frame, message);
  assert.equal(assembler.expected, 200_000);
});

Deno.test("a size above the bound or below four is refused as soon as the size arrives", () => {
  const tooBig = new FrameAssembler({ maxBytes: 1_024 });
  assert.equal(tooBig.push(Uint8Array.of(0, 0)), undefined);
  assert.throws(
    () => tooBig.push(Uint8Array.of(4, 1)),
    /response size 1025 is outside the accepted 4 to 1024 bytes/,
  );
  const negative = new FrameAssembler({ maxBytes: 1_024 });
  assert.throws(() => negative.push(Uint8Array.of(0xff, 0xff, 0xff, 0xfe)), /size -2/);
  const tiny = new FrameAssembler({ maxBytes: 1_024 });
  assert.throws(() => tiny.push(Uint8Array.of(0, 0, 0, 3, 1, 2, 3)), /size 3/);
  const exact = new FrameAssembler({ maxBytes: 1_024 });
  assert.equal(exact.push(sizeFramed(new Uint8Array(1_024)))?.length, 1_024);
});

Deno.test("bytes beyond the one expected response are refused", () => {
  const framed = sizeFramed(Uint8Array.of(0, 0, 0, 1));
  const withExtra = new Uint8Array([...framed, 9, 9]);
  assert.throws(
    () => new FrameAssembler({ maxBytes: 64 }).push(withExtra),
    /2 bytes arrived beyond the 4-byte response/,
  );
});
