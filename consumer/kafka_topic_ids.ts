/**
 * Kafka topic ids by name, straight from a broker. KafkaJS 2.2.4 speaks Metadata only in versions
 * without topic ids, so this edge speaks Kafka's protocol itself (PLAINTEXT TCP, one connection,
 * ApiVersions then Metadata) to tell a deleted-and-recreated topic from the one it replaced.
 */
import {
  chooseMetadataVersion,
  decodeApiVersionsResponse,
  decodeMetadataResponse,
  encodeApiVersionsRequest,
  encodeMetadataRequest,
  type MetadataTopic,
} from "./kafka_messages.ts";
import { FrameAssembler, KafkaWireError } from "./kafka_wire.ts";

/** What a broker says about one requested topic. */
export interface TopicIdEntry {
  /** Canonical UUID text, or null when the topic has none (e.g. it does not exist). */
  readonly id: string | null;
  readonly partitions: number;
  /** Kafka's error code for the topic: 0 when it exists, 3 (UNKNOWN_TOPIC_OR_PARTITION) when not. */
  readonly errorCode: number;
}

/** The topic ids of the requested topics, or why the broker cannot tell them. */
export type TopicIdLookup =
  | { readonly kind: "ids"; readonly topics: Map<string, TopicIdEntry> }
  | { readonly kind: "unsupported"; readonly detail: string };

/** How long to try, when to give up, and the client id the broker logs. */
export interface TopicIdLookupOptions {
  /** The whole lookup's time limit, over all brokers tried (default 10 000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly clientId?: string;
}

/** No broker gave a usable answer, the lookup was aborted, or its arguments are invalid. */
export class TopicIdLookupError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TopicIdLookupError";
  }
}

/** The largest response accepted: far above any Metadata answer for a few topics. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_STRING_BYTES = 32_767;
const API_VERSIONS_CORRELATION_ID = 1;
const METADATA_CORRELATION_ID = 2;

/**
 * Asks the bootstrap brokers, one after another until one answers, for the ids of `topics`.
 * Rejects with `TopicIdLookupError` when none answers within the time limit or the signal aborts.
 */
export async function fetchTopicIds(
  brokers: readonly string[],
  topics: readonly string[],
  options: TopicIdLookupOptions = {},
): Promise<TopicIdLookup> {
  const names = [...new Set(topics)];
  const what = `Cannot look up the ids of ${describeTopics(names)}`;
  const tooLong = [...names, options.clientId ?? ""]
    .find((text) => new TextEncoder().encode(text).length > MAX_STRING_BYTES);
  if (tooLong !== undefined) {
    throw new TopicIdLookupError(
      `${what}: topic names and the client id must be at most ${MAX_STRING_BYTES} UTF-8 bytes: ` +
        `current value has ${tooLong.length} characters and starts ${
          JSON.stringify(tooLong.slice(0, 40))
        }`,
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TopicIdLookupError(`${what}: timeoutMs must be a positive number: got ${timeoutMs}`);
  }
  const addresses = brokers.map((text) => parseBrokerAddress(text, what));
  if (addresses.length === 0) throw new TopicIdLookupError(`${what}: the broker list is empty`);
  const clientId = options.clientId ?? "activity-consumer-topic-ids";
  const { signal } = options;
  const deadline = Date.now() + timeoutMs;
  const failures: string[] = [];
  for (const [index, address] of addresses.entries()) {
    if (signal?.aborted) break;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      failures.push(`${addresses.slice(index).map((a) => a.text).join(", ")}: not tried`);
      break;
    }
    // Each broker gets a fair share of the time left, so one that accepts connections but never
    // answers cannot use up the time of those after it.
    const budgetMs = Math.max(1, Math.floor(remainingMs / (addresses.length - index)));
    try {
      return await askBroker(address, names, { budgetMs, signal, clientId });
    } catch (error) {
      failures.push(`${address.text}: ${describeFailure(error)}`);
    }
  }
  if (signal?.aborted) {
    throw new TopicIdLookupError(`${what}: aborted (${String(signal.reason)})`, {
      cause: signal.reason,
    });
  }
  throw new TopicIdLookupError(
    `${what}: no broker answered within ${timeoutMs} ms: ${failures.join("; ")}`,
  );
}

interface BrokerAddress {
  readonly text: string;
  readonly hostname: string;
  readonly port: number;
}

/** `host:port` or `[ipv6]:port` as a socket address. */
function parseBrokerAddress(text: string, what: string): BrokerAddress {
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(String(text).trim());
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65_535) {
    throw new TopicIdLookupError(
      `${what}: a broker address must be "host:port" with a port from 1 to 65535: ` +
        `current value is ${JSON.stringify(text)}`,
    );
  }
  return { text: String(text).trim(), hostname: match[1] ?? match[2], port };
}

/** The attempt ran out of its share of time; says how far it got. */
class AttemptTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AttemptTimeout";
  }
}

interface Progress {
  step: string;
  assembler?: FrameAssembler;
}

async function askBroker(
  address: BrokerAddress,
  names: readonly string[],
  settings: { budgetMs: number; signal?: AbortSignal; clientId: string },
): Promise<TopicIdLookup> {
  const progress: Progress = { step: "connecting" };
  const attempt = new AbortController();
  const timer = setTimeout(
    () => attempt.abort(new AttemptTimeout(timeoutText())),
    settings.budgetMs,
  );
  const relayAbort = () => attempt.abort(settings.signal?.reason);
  settings.signal?.addEventListener("abort", relayAbort, { once: true });
  let conn: Deno.TcpConn | undefined;
  // Closing the socket is what ends a pending read or write when time runs out or the caller aborts.
  const close = () => {
    try {
      conn?.close();
    } catch { /* already closed */ }
    conn = undefined;
  };
  attempt.signal.addEventListener("abort", close, { once: true });
  function timeoutText(): string {
    const bytes = progress.assembler
      ? ` (${progress.assembler.received} of ${progress.assembler.expected ?? "?"} bytes)`
      : "";
    return `did not answer within ${settings.budgetMs} ms (${progress.step}${bytes})`;
  }
  try {
    if (settings.signal?.aborted) throw settings.signal.reason;
    const { hostname, port } = address;
    conn = await Deno.connect({ hostname, port, signal: attempt.signal });
    // The abort may have fired while the connection was being made, before `close` could see it.
    if (attempt.signal.aborted) throw attempt.signal.reason;
    const identity = { clientId: settings.clientId };
    const versionsRequest = encodeApiVersionsRequest({
      ...identity,
      correlationId: API_VERSIONS_CORRELATION_ID,
    });
    const versionsFrame = await exchange(conn, versionsRequest, {
      progress,
      step: "waiting for the ApiVersions response",
    });
    const versions = decodeApiVersionsResponse(versionsFrame, {
      correlationId: API_VERSIONS_CORRELATION_ID,
    });
    if (versions.errorCode !== 0) {
      throw new Error(`ApiVersions failed with Kafka error code ${versions.errorCode}`);
    }
    const choice = chooseMetadataVersion(versions.apis);
    if (choice.kind === "unsupported") {
      return { kind: "unsupported", detail: `${address.text}: ${choice.detail}` };
    }
    if (choice.kind === "incompatible") throw new Error(choice.detail);
    const { version } = choice;
    const request = encodeMetadataRequest({
      ...identity,
      correlationId: METADATA_CORRELATION_ID,
      version,
      topics: names,
    });
    const frame = await exchange(conn, request, {
      progress,
      step: `waiting for the Metadata v${version} response`,
    });
    const answered = decodeMetadataResponse(frame, {
      correlationId: METADATA_CORRELATION_ID,
      version,
    });
    return { kind: "ids", topics: requestedTopics(names, answered, version) };
  } catch (error) {
    if (attempt.signal.aborted) throw attempt.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    settings.signal?.removeEventListener("abort", relayAbort);
    attempt.signal.removeEventListener("abort", close);
    close();
  }
}

/** Sends one request and reads its whole response, however many reads it takes. */
async function exchange(
  conn: Deno.TcpConn,
  request: Uint8Array,
  options: { progress: Progress; step: string },
): Promise<Uint8Array> {
  const { progress } = options;
  progress.step = `sending a request`;
  progress.assembler = undefined;
  for (let written = 0; written < request.length;) {
    written += await conn.write(request.subarray(written));
  }
  progress.step = options.step;
  const assembler = new FrameAssembler({ maxBytes: MAX_RESPONSE_BYTES });
  progress.assembler = assembler;
  const buffer = new Uint8Array(64 * 1024);
  // Each pass consumes at least one byte of a frame capped at MAX_RESPONSE_BYTES, and the
  // attempt's timer closes the socket, so this loop ends.
  for (;;) {
    const read = await conn.read(buffer);
    if (read === null) {
      throw new Error(
        `closed the connection after ${assembler.received} bytes while ${options.step}`,
      );
    }
    const frame = assembler.push(buffer.subarray(0, read));
    if (frame) return frame;
  }
}

function requestedTopics(
  names: readonly string[],
  answered: readonly MetadataTopic[],
  version: number,
): Map<string, TopicIdEntry> {
  const byName = new Map(answered.map((topic) => [topic.name, topic]));
  const topics = new Map<string, TopicIdEntry>();
  for (const name of names) {
    const topic = byName.get(name);
    if (!topic) {
      throw new KafkaWireError(
        `the Metadata v${version} response leaves out the requested topic ${JSON.stringify(name)}`,
      );
    }
    topics.set(name, { id: topic.id, partitions: topic.partitions, errorCode: topic.errorCode });
  }
  return topics;
}

function describeTopics(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((name) => JSON.stringify(name)).join(", ");
  return names.length > 5 ? `topics ${shown} and ${names.length - 5} more` : `topics [${shown}]`;
}

function describeFailure(error: unknown): string {
  if (error instanceof KafkaWireError) return `malformed response: ${error.message}`;
  if (error instanceof AttemptTimeout) return error.message;
  if (error instanceof Deno.errors.ConnectionRefused) return "refused the connection";
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
