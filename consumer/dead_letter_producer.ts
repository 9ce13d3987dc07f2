/**
 * Publishing rejected messages to the dead-letter topic with KafkaJS: in
 * requests the broker accepts (`dead_letters.ts` cuts them), each message
 * alone and then cut small when the broker refuses a request, and what it
 * refuses even then recorded as refused, never retried for ever.
 */
import type { Producer } from "kafkajs";
import type { Logger } from "@activity/shared";
import type { Rejection } from "./aggregate.ts";
import {
  deadLetterMessage,
  type DeadLetterOutcome,
  deadLetterRequests,
  isCut,
  SMALL_DEAD_LETTER_LIMITS,
} from "./dead_letters.ts";
import { classifyKafkaError, errorSummary } from "./retry.ts";

/**
 * A function that publishes rejections and resolves with each one's outcome once all are
 * acknowledged or refused for good; it rejects on errors worth retrying.
 */
export function createDeadLetterPublisher(
  producer: Producer,
  options: { readonly dlqTopic: string; readonly log: Logger },
): (rejections: readonly Rejection[]) => Promise<DeadLetterOutcome[]> {
  const { log } = options;
  const send = (rejections: readonly Rejection[], small = false) =>
    producer.send({
      topic: options.dlqTopic,
      acks: -1,
      messages: rejections.map((r) =>
        small ? deadLetterMessage(r, SMALL_DEAD_LETTER_LIMITS) : deadLetterMessage(r)
      ),
    });

  async function sendAlone(rejection: Rejection, first: unknown): Promise<DeadLetterOutcome> {
    try {
      await send([rejection]);
      return isCut(rejection) ? "sent cut" : "sent";
    } catch (error) {
      if (classifyKafkaError(error).kind !== "permanent") throw error;
    }
    try {
      await send([rejection], true);
      return "sent cut";
    } catch (error) {
      if (classifyKafkaError(error).kind !== "permanent") throw error;
      log.warn(
        "the dead-letter topic refused a rejected message even cut small; it is kept " +
          "in rejected_events only",
        {
          partition: rejection.partition,
          offset: rejection.offset,
          first_error: errorSummary(first),
          error,
        },
      );
      return `refused: ${errorSummary(error)}`;
    }
  }

  return async (rejections) => {
    const outcomes: DeadLetterOutcome[] = [];
    for (const request of deadLetterRequests(rejections)) {
      try {
        await send(request);
        for (const r of request) outcomes.push(isCut(r) ? "sent cut" : "sent");
      } catch (error) {
        if (classifyKafkaError(error).kind !== "permanent") throw error;
        // The broker refuses the request (a topic with a smaller size limit): send each alone,
        // then in a smaller form; what it refuses even then is recorded, never retried.
        for (const r of request) outcomes.push(await sendAlone(r, error));
      }
    }
    return outcomes;
  };
}
