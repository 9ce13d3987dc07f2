/**
 * Retry timing and error triage, pure except for `retryWithBackoff`, which
 * waits on an injected clock: one retry loop for every place that waits for
 * PostgreSQL or Kafka to come back.
 */
import type { Clock } from "@activity/shared";

/** Options of `backoffDelayMs`. */
export interface BackoffOptions {
  /** The longest wait, in milliseconds (default 5 s). */
  readonly capMs?: number;
  /** A number in [0, 1); the jitter's source (default `Math.random`). */
  readonly random?: () => number;
}

/**
 * Milliseconds to wait before retry number `attempt` (1-based): doubling from 100 ms up to
 * `capMs`, of which the upper half is random ("equal jitter"), so consumers that failed
 * together do not all come back at the same instant.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const capMs = options.capMs ?? 5_000;
  const random = options.random ?? Math.random;
  const full = Math.min(capMs, 100 * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
  return Math.round(full / 2 + (full / 2) * random());
}

/** How a failed operation should be treated. */
export type FailureKind =
  /** The server could not be reached or the connection broke: wait for it. */
  | "unreachable"
  /** The server refused for now (deadlock, serialization, timeout, overload): try again. */
  | "transient"
  /** It can never succeed as it is (privileges, a missing table, bad data): someone must act. */
  | "permanent";

/** A failure with its kind and a short description for logs and `/readyz`. */
export interface ClassifiedFailure {
  readonly kind: FailureKind;
  /** The SQLSTATE or the client's error code, when there is one. */
  readonly code?: string;
  readonly summary: string;
}

const TRANSIENT_SQLSTATES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "57014", // query_canceled (statement_timeout)
  "53000", // insufficient_resources
  "53100", // disk_full
  "53200", // out_of_memory
  "53300", // too_many_connections
  "25P04", // transaction_timeout
]);

/**
 * Whether a PostgreSQL client error means "could not talk to the server" (worth waiting for)
 * rather than "the server refused the statement": socket errors, SQLSTATE class 08
 * (connection exception) and 57P0x (shutting down, starting up).
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("code" in error)) return false;
  const code = String((error as { code: unknown }).code);
  // Errors the server sent carry a severity and an SQLSTATE; the client's own have neither.
  if (!("severity" in error)) return true;
  return code.startsWith("08") || code.startsWith("57P");
}

/** Sorts a PostgreSQL client error into what to do about it. */
export function classifyDatabaseError(error: unknown): ClassifiedFailure {
  const summary = errorSummary(error);
  if (typeof error !== "object" || error === null || !("code" in error)) {
    // No code at all: a bug or an unexpected client state, not something time will fix.
    return { kind: "permanent", summary };
  }
  const code = String((error as { code: unknown }).code);
  if (isConnectionError(error)) return { kind: "unreachable", code, summary };
  if (TRANSIENT_SQLSTATES.has(code)) return { kind: "transient", code, summary };
  return { kind: "permanent", code, summary };
}

/**
 * The errors the consumer's own Kafka edges throw when Kafka does not answer in time:
 * `TopicIdLookupError` (kafka_topic_ids.ts) and `KafkaDeadlineError` (kafka_deadline.ts). By name,
 * as KafkaJS's are: those edges import this module.
 */
const OWN_KAFKA_ERRORS: ReadonlySet<string> = new Set(["TopicIdLookupError", "KafkaDeadlineError"]);

/** Whether an error came from talking to Kafka (KafkaJS, or the consumer's own Kafka edges). */
export function isKafkaError(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return typeof name === "string" && (name.startsWith("KafkaJS") || OWN_KAFKA_ERRORS.has(name));
}

/** How often a wait for an unreachable service is logged, and the longest backoff between tries. */
export const WAITING_LOG_INTERVAL_MS = 15_000;

/** Sorts a Kafka client error: KafkaJS marks the ones worth retrying. */
export function classifyKafkaError(error: unknown): ClassifiedFailure {
  const summary = errorSummary(error);
  const { retriable, type, name } = (error ?? {}) as {
    retriable?: boolean;
    type?: string;
    name?: string;
  };
  const code = type ?? name;
  if (
    name === "KafkaJSConnectionError" || name === "KafkaJSRequestTimeoutError" ||
    OWN_KAFKA_ERRORS.has(name ?? "")
  ) {
    return { kind: "unreachable", code, summary };
  }
  return { kind: retriable === false ? "permanent" : "transient", code, summary };
}

/** One line about an error: its message, cut to a readable length. */
export function errorSummary(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** What `retryWithBackoff` needs besides the operation. */
export interface RetryOptions {
  readonly clock: Clock;
  /** Aborting ends the waiting; `retryWithBackoff` then resolves undefined. */
  readonly signal?: AbortSignal;
  /** Whether a failure is worth another attempt; the others are thrown. */
  readonly retryable: (error: unknown) => boolean;
  /** Called before each wait, with the attempt that failed (1-based). */
  readonly onRetry?: (error: unknown, info: { attempt: number; delayMs: number }) => void;
  readonly capMs?: number;
  readonly random?: () => number;
}

/** Runs `operation` until it succeeds, waiting with backoff between retryable failures. */
export async function retryWithBackoff<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T | undefined> {
  for (let attempt = 1; !options.signal?.aborted; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (options.signal?.aborted) return undefined;
      if (!options.retryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, options);
      options.onRetry?.(error, { attempt, delayMs });
      await options.clock.sleep(delayMs, options.signal);
    }
  }
  return undefined;
}
