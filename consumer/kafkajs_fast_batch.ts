/**
 * A faster stand-in for KafkaJS 2.2.4's consumer `Batch` (`consumer/batch.js`,
 * installed by `kafkajs_fetch_speedups.ts`), whose constructor parsed every
 * message's offset into a `Long` to compare it with the fetched offset. The
 * same fields with the same values; the methods are KafkaJS's own. KafkaJS's
 * parts are passed in, never imported here.
 */

/** KafkaJS's parts the fast `Batch` uses. */
export interface BatchParts {
  /** KafkaJS's `Batch` class: its methods stay, only the constructor is replaced. */
  readonly Batch: BatchClass;
  readonly Long: { fromValue(value: unknown): { gte(other: unknown): boolean } };
  readonly filterAbortedMessages: (
    args: { messages: unknown[]; abortedTransactions: unknown },
  ) => { isControlRecord?: boolean }[];
}

/** KafkaJS's consumer `Batch` class. */
export type BatchClass = new (
  topic: string,
  fetchedOffset: unknown,
  partitionData: { partition: number; highWatermark: string; messages: unknown[] },
) => Record<string, unknown>;

/**
 * KafkaJS's `Batch` with its constructor's offset filter on numbers when both offsets are
 * plain decimals below 10^15 (exact), `Long` otherwise; the methods are KafkaJS's own.
 */
export function fastBatchClass(parts: BatchParts): BatchClass {
  const { Long, filterAbortedMessages } = parts;
  const Batch = function Batch(
    this: Record<string, unknown>,
    topic: string,
    fetchedOffset: unknown,
    partitionData: { partition: number; highWatermark: string; messages: unknown[] } & {
      abortedTransactions?: unknown;
    },
  ) {
    this.fetchedOffset = fetchedOffset;
    const longFetchedOffset = Long.fromValue(this.fetchedOffset);
    const { abortedTransactions, messages } = partitionData;
    this.topic = topic;
    this.partition = partitionData.partition;
    this.highWatermark = partitionData.highWatermark;
    this.rawMessages = messages;
    const fetched = smallOffset(fetchedOffset);
    const messagesWithinOffset = messages.filter((message) => {
      const offset = (message as { offset: unknown }).offset;
      const small = fetched === undefined ? undefined : smallOffset(offset);
      return small !== undefined
        ? small >= fetched!
        : Long.fromValue(offset).gte(longFetchedOffset);
    });
    this.messagesWithinOffset = messagesWithinOffset;
    this.messages = filterAbortedMessages({ messages: messagesWithinOffset, abortedTransactions })
      .filter((message) => !message.isControlRecord);
  } as unknown as BatchClass;
  Batch.prototype = parts.Batch.prototype;
  return Batch;
}

/** A decimal string of at most 15 digits as its (exact) number; undefined otherwise. */
function smallOffset(offset: unknown): number | undefined {
  if (typeof offset !== "string") return undefined;
  const length = offset.length;
  let i = length > 0 && offset.charCodeAt(0) === 45 ? 1 : 0;
  if (length === i || length - i > 15) return undefined;
  for (; i < length; i++) {
    const code = offset.charCodeAt(i);
    if (code < 48 || code > 57) return undefined;
  }
  return Number(offset);
}
