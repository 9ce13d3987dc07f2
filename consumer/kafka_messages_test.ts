import assert from "node:assert/strict";
import {
  type ApiVersionRange,
  chooseMetadataVersion,
  decodeApiVersionsResponse,
  decodeMetadataResponse,
  encodeApiVersionsRequest,
  encodeMetadataRequest,
  METADATA_KEY,
} from "./kafka_messages.ts";
import { KafkaWireError, WireWriter, ZERO_UUID } from "./kafka_wire.ts";
import captured from "./testdata/kafka_metadata_v10_v12.json" with { type: "json" };

function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

const apiVersionsResponse = base64Bytes(captured.apiVersions.response);

Deno.test("requests encode to exactly the bytes a real Kafka 3.9.1 broker accepted", () => {
  const { clientId } = captured;
  assert.deepEqual(
    encodeApiVersionsRequest({ clientId, correlationId: captured.apiVersions.correlationId }),
    base64Bytes(captured.apiVersions.request),
  );
  for (const { version, correlationId, request } of captured.metadata) {
    const topics = [captured.topic, captured.missingTopic];
    assert.deepEqual(
      encodeMetadataRequest({ clientId, correlationId, version, topics }),
      base64Bytes(request),
      `Metadata v${version}`,
    );
  }
});

Deno.test("the captured ApiVersions answer offers Metadata v0-v12, so v12 is chosen", () => {
  const answer = decodeApiVersionsResponse(apiVersionsResponse, { correlationId: 1 });
  assert.equal(answer.errorCode, 0);
  assert.deepEqual(answer.apis.get(METADATA_KEY), { min: 0, max: 12 });
  assert.deepEqual(chooseMetadataVersion(answer.apis), { kind: "version", version: 12 });
});

Deno.test("captured Metadata v10, v11 and v12 answers give the id the broker wrote to its log dir", () => {
  for (const { version, correlationId, response } of captured.metadata) {
    const topics = decodeMetadataResponse(base64Bytes(response), { correlationId, version });
    assert.deepEqual(topics, [
      { name: captured.topic, errorCode: 0, id: captured.topicId, partitions: captured.partitions },
      { name: captured.missingTopic, errorCode: 3, id: null, partitions: 0 },
    ], `Metadata v${version}`);
  }
});

Deno.test("every truncation of a captured answer, and an extra byte, is reported as malformed", () => {
  const answers = [
    {
      bytes: apiVersionsResponse,
      decode: (bytes: Uint8Array) => decodeApiVersionsResponse(bytes, { correlationId: 1 }),
    },
    ...captured.metadata.map(({ version, correlationId, response }) => ({
      bytes: base64Bytes(response),
      decode: (bytes: Uint8Array) => decodeMetadataResponse(bytes, { correlationId, version }),
    })),
  ];
  for (const { bytes, decode } of answers) {
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => decode(bytes.subarray(0, length)), KafkaWireError, `${length} bytes`);
    }
    assert.throws(() => decode(new Uint8Array([...bytes, 0])), /1 unexpected bytes/);
  }
});

Deno.test("an answer to another request, or read as another version, is refused", () => {
  const v11 = captured.metadata.find((entry) => entry.version === 11)!;
  const bytes = base64Bytes(v11.response);
  assert.throws(
    () => decodeMetadataResponse(bytes, { correlationId: 99, version: 11 }),
    /correlation id: expected 99, got 11/,
  );
  // v10 carries 4 more bytes (cluster_authorized_operations) than v11: the reader must notice.
  assert.throws(
    () => decodeMetadataResponse(bytes, { correlationId: 11, version: 10 }),
    KafkaWireError,
  );
});

/** A Metadata response built field by field from the JSON definition, with tagged fields everywhere. */
function syntheticResponse(version: number, name: string | null, id: string): Uint8Array {
  const tagged = (writer: WireWriter) => writer.uvarint(1).uvarint(5).uvarint(2).int16(7);
  const writer = tagged(new WireWriter().int32(77)).int32(0); // header, throttle_time_ms
  writer.compactArrayLength(1).int32(1).compactString("broker-1").int32(9092)
    .compactString("rack-a");
  tagged(writer).compactString("cluster").int32(1).compactArrayLength(1);
  writer.int16(0).compactString(name).uuid(id).bool(false).compactArrayLength(2);
  for (const partition of [0, 1]) {
    writer.int16(0).int32(partition).int32(1).int32(5);
    writer.compactArrayLength(1).int32(1).compactArrayLength(1).int32(1).compactArrayLength(0);
    tagged(writer);
  }
  tagged(writer.int32(-2_147_483_648));
  if (version === 10) writer.int32(-2_147_483_648);
  return tagged(writer).bytes();
}

Deno.test("tagged fields the broker may add anywhere are skipped", () => {
  const id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  for (const version of [10, 11, 12]) {
    assert.deepEqual(
      decodeMetadataResponse(syntheticResponse(version, "t", id), { correlationId: 77, version }),
      [{ name: "t", errorCode: 0, id, partitions: 2 }],
    );
  }
});

Deno.test("a null topic name is malformed before Metadata v12 and kept in v12", () => {
  const bytes = (version: number) => syntheticResponse(version, null, ZERO_UUID);
  assert.throws(
    () => decodeMetadataResponse(bytes(11), { correlationId: 77, version: 11 }),
    /topic name: null, which Metadata v11 does not allow/,
  );
  assert.deepEqual(decodeMetadataResponse(bytes(12), { correlationId: 77, version: 12 }), [
    { name: null, errorCode: 0, id: null, partitions: 2 },
  ]);
});

Deno.test("brokers older than Metadata v10 are unsupported; others get the highest common version", () => {
  const offering = (range?: ApiVersionRange) =>
    chooseMetadataVersion(new Map(range ? [[METADATA_KEY, range]] : []));
  assert.deepEqual(offering({ min: 0, max: 9 }), {
    kind: "unsupported",
    detail: "the broker speaks Metadata v0-v9; topic ids need v10 or later",
  });
  assert.deepEqual(offering({ min: 0, max: 10 }), { kind: "version", version: 10 });
  assert.deepEqual(offering({ min: 0, max: 11 }), { kind: "version", version: 11 });
  assert.deepEqual(offering({ min: 4, max: 13 }), { kind: "version", version: 12 });
  assert.deepEqual(offering({ min: 13, max: 14 }), {
    kind: "incompatible",
    detail: "the broker speaks Metadata v13-v14; this client speaks v10-v12",
  });
  assert.equal(offering(undefined).kind, "incompatible");
});

Deno.test("only v10 sends include_cluster_authorized_operations, and no version asks to create topics", () => {
  const request = (version: number) =>
    encodeMetadataRequest({ clientId: "c", correlationId: 5, version, topics: ["t"] });
  // Same header and topic; the body tail is [allow_auto_topic_creation, (cluster ops), topic ops, tags].
  assert.deepEqual([...request(10).subarray(-4)], [0, 0, 0, 0]);
  assert.equal(request(10).length, request(11).length + 1);
  assert.deepEqual([...request(12).subarray(-3)], [0, 0, 0]);
  assert.throws(() => request(9), /Metadata version must be 10 to 12: got 9/);
  assert.throws(() => request(13), RangeError);
});
