/** A time limit on what the consumer waits for from Kafka, for any client. */
import type { Clock } from "@activity/shared";

/** Kafka neither answered nor failed within the time the consumer gives it. */
export class KafkaDeadlineError extends Error {
  /** Creates the error naming what was waited for and how long. */
  constructor(what: string, ms: number) {
    super(`Kafka did not answer ${what} within ${ms} ms`);
    this.name = "KafkaDeadlineError";
  }
}

/** `work`, or a `KafkaDeadlineError` once `ms` have passed (the work is then left to settle). */
export async function withDeadline<T>(
  work: Promise<T>,
  options: { clock: Clock; ms: number; what: string },
): Promise<T> {
  const done = new AbortController();
  const deadline = options.clock.sleep(options.ms, done.signal).then(() => {
    if (!done.signal.aborted) throw new KafkaDeadlineError(options.what, options.ms);
    return undefined as never;
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    done.abort();
  }
}
