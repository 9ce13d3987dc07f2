/**
 * The two Kafka messages a topic-id lookup needs, encoded and decoded without I/O: ApiVersions v0
 * (to learn which Metadata versions the broker speaks) and Metadata v10 to v12 (the versions that
 * carry topic ids). Field layouts follow Apache Kafka 3.9.1's message definitions
 * (clients/src/main/resources/common/message/{ApiVersions,Metadata}{Request,Response}.json,
 * RequestHeader.json, ResponseHeader.json).
 */
import { KafkaWireError, sizeFramed, WireReader, WireWriter, ZERO_UUID } from "./kafka_wire.ts";

/** Kafka's API key of ApiVersions. */
export const API_VERSIONS_KEY = 18;
/** Kafka's API key of Metadata. */
export const METADATA_KEY = 3;
/** The Metadata versions this client speaks: v10 added topic ids; v12 is Kafka 3.9's newest. */
export const METADATA_VERSIONS: { readonly min: number; readonly max: number } = {
  min: 10,
  max: 12,
};

/** What every request header carries besides the API key and version. */
export interface RequestIdentity {
  readonly correlationId: number;
  readonly clientId: string;
}

/** The versions of one API a broker accepts, inclusive. */
export interface ApiVersionRange {
  readonly min: number;
  readonly max: number;
}

/** A decoded ApiVersions response: its error code and the version range of each API key. */
export interface ApiVersionsAnswer {
  readonly errorCode: number;
  readonly apis: ReadonlyMap<number, ApiVersionRange>;
}

/** One topic of a decoded Metadata response. */
export interface MetadataTopic {
  /** Null only in v12 answers to lookups by id, which this client never makes. */
  readonly name: string | null;
  readonly errorCode: number;
  /** Canonical UUID text; null when the broker sent the all-zero UUID ("no id"). */
  readonly id: string | null;
  readonly partitions: number;
}

/** The Metadata version to use with a broker, or why there is none. */
export type MetadataVersionChoice =
  | { readonly kind: "version"; readonly version: number }
  | { readonly kind: "unsupported"; readonly detail: string }
  | { readonly kind: "incompatible"; readonly detail: string };

/** ApiVersions v0 with request header v1 (non-flexible, which every broker reads), size-framed. */
export function encodeApiVersionsRequest(identity: RequestIdentity): Uint8Array {
  return sizeFramed(requestHeaderV1(API_VERSIONS_KEY, 0, identity).bytes());
}

/** Decodes an ApiVersions v0 response (response header v0) whose size prefix was removed. */
export function decodeApiVersionsResponse(
  frame: Uint8Array,
  expected: { correlationId: number },
): ApiVersionsAnswer {
  const reader = new WireReader(frame);
  readCorrelationId(reader, expected.correlationId);
  const errorCode = reader.int16("ApiVersions error code");
  const count = reader.arrayLength("ApiVersions api keys", 6) ?? 0;
  const apis = new Map<number, ApiVersionRange>();
  for (let index = 0; index < count; index++) {
    const key = reader.int16("ApiVersions api key");
    const min = reader.int16("ApiVersions min version");
    const max = reader.int16("ApiVersions max version");
    apis.set(key, { min, max });
  }
  reader.expectEnd("ApiVersions response");
  return { errorCode, apis };
}

/** The highest Metadata version both this client and a broker with `apis` speak. */
export function chooseMetadataVersion(
  apis: ReadonlyMap<number, ApiVersionRange>,
): MetadataVersionChoice {
  const range = apis.get(METADATA_KEY);
  const ours = `v${METADATA_VERSIONS.min}-v${METADATA_VERSIONS.max}`;
  if (range === undefined) {
    return {
      kind: "incompatible",
      detail: "the broker does not offer the Metadata API (is this a controller-only listener?)",
    };
  }
  const theirs = `v${range.min}-v${range.max}`;
  if (range.max < METADATA_VERSIONS.min) {
    return {
      kind: "unsupported",
      detail:
        `the broker speaks Metadata ${theirs}; topic ids need v${METADATA_VERSIONS.min} or later`,
    };
  }
  if (range.min > METADATA_VERSIONS.max) {
    return {
      kind: "incompatible",
      detail: `the broker speaks Metadata ${theirs}; this client speaks ${ours}`,
    };
  }
  return { kind: "version", version: Math.min(range.max, METADATA_VERSIONS.max) };
}

/**
 * A Metadata request (v10 to v12, flexible: request header v2) for `topics` by name, size-framed.
 * It never asks the broker to create topics and asks for no authorized operations.
 */
export function encodeMetadataRequest(
  request: RequestIdentity & { version: number; topics: readonly string[] },
): Uint8Array {
  const { version, topics } = request;
  if (
    !Number.isInteger(version) || version < METADATA_VERSIONS.min || version > METADATA_VERSIONS.max
  ) {
    throw new RangeError(
      `Metadata version must be ${METADATA_VERSIONS.min} to ${METADATA_VERSIONS.max}: got ${version}`,
    );
  }
  const writer = requestHeaderV1(METADATA_KEY, version, request).noTaggedFields();
  writer.compactArrayLength(topics.length);
  for (const name of topics) {
    // By name: v10 and v11 brokers must get the zero id; v12 looks a topic up by name when its
    // id is zero.
    writer.uuid(ZERO_UUID).compactString(name).noTaggedFields();
  }
  writer.bool(false); // allow_auto_topic_creation: a lookup must never create a topic
  if (version === 10) writer.bool(false); // include_cluster_authorized_operations (v8-v10)
  writer.bool(false); // include_topic_authorized_operations
  return sizeFramed(writer.noTaggedFields().bytes());
}

/** Decodes a Metadata v10 to v12 response (response header v1) whose size prefix was removed. */
export function decodeMetadataResponse(
  frame: Uint8Array,
  expected: { correlationId: number; version: number },
): MetadataTopic[] {
  const { version } = expected;
  const reader = new WireReader(frame);
  readCorrelationId(reader, expected.correlationId);
  reader.skipTaggedFields("Metadata response header");
  reader.int32("throttle_time_ms");
  const brokers = reader.compactArrayLength("brokers", 11) ?? 0;
  for (let index = 0; index < brokers; index++) {
    reader.int32("broker node_id");
    reader.compactString("broker host");
    reader.int32("broker port");
    reader.compactString("broker rack");
    reader.skipTaggedFields("broker");
  }
  reader.compactString("cluster_id");
  reader.int32("controller_id");
  const count = reader.compactArrayLength("topics", 26) ?? 0;
  const topics: MetadataTopic[] = [];
  for (let index = 0; index < count; index++) topics.push(readTopic(reader, version));
  if (version === 10) reader.int32("cluster_authorized_operations");
  reader.skipTaggedFields("Metadata response");
  reader.expectEnd(`Metadata v${version} response`);
  return topics;
}

function readTopic(reader: WireReader, version: number): MetadataTopic {
  const errorCode = reader.int16("topic error_code");
  const name = reader.compactString("topic name");
  if (name === null && version < 12) {
    throw new KafkaWireError(`topic name: null, which Metadata v${version} does not allow`);
  }
  const id = reader.uuid("topic id");
  reader.bool("topic is_internal");
  const partitions = reader.compactArrayLength(`partitions of topic "${name}"`, 18) ?? 0;
  for (let index = 0; index < partitions; index++) {
    reader.int16("partition error_code");
    reader.int32("partition_index");
    reader.int32("leader_id");
    reader.int32("leader_epoch");
    for (const list of ["replica_nodes", "isr_nodes", "offline_replicas"]) {
      const nodes = reader.compactArrayLength(list, 4) ?? 0;
      for (let node = 0; node < nodes; node++) reader.int32(list);
    }
    reader.skipTaggedFields("partition");
  }
  reader.int32("topic_authorized_operations");
  reader.skipTaggedFields("topic");
  return { name, errorCode, id: id === ZERO_UUID ? null : id, partitions };
}

// Request header v1 (api key, version, correlation id, int16-length client id); flexible requests
// (header v2) append a tagged-field section to it.
function requestHeaderV1(apiKey: number, version: number, identity: RequestIdentity): WireWriter {
  return new WireWriter().int16(apiKey).int16(version).int32(identity.correlationId)
    .string(identity.clientId);
}

function readCorrelationId(reader: WireReader, expected: number): void {
  const correlationId = reader.int32("correlation id");
  if (correlationId !== expected) {
    throw new KafkaWireError(
      `correlation id: expected ${expected}, got ${correlationId} (an answer to another request)`,
    );
  }
}
