/**
 * `deno task dev`'s "events are in PostgreSQL" line, counting only this run's
 * messages: where the topic ended when dev started, per partition, against
 * the offsets the consumer commits to PostgreSQL with its counts. A backlog
 * left by earlier runs is consumed too, but is not this run's.
 */
import postgres from "postgres";
import { consumerProgram } from "@activity/consumer";
import { readConfig } from "@activity/shared";
import { createKafka } from "@activity/shared/kafka";
import { countedSince } from "./dev_plan.ts";

/** The topic and group the consumer will use with `env`, or undefined when its settings are bad. */
export function consumerTarget(
  env: Record<string, string>,
): { topic: string; group: string } | undefined {
  const outcome = readConfig(consumerProgram, { args: [], env });
  return outcome.kind === "config"
    ? { topic: outcome.config.topic, group: outcome.config.group }
    : undefined;
}

/** The end offset of each partition of `topic` now (none when the topic does not exist yet). */
export async function topicEndOffsets(
  brokers: readonly string[],
  topic: string,
): Promise<Map<number, number>> {
  const admin = createKafka({ brokers, clientId: "activity-dev" }).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return new Map();
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((offset) => [offset.partition, Number(offset.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Polls PostgreSQL until the consumer has stored messages of this run, then says how many. */
export async function reportFirstEvents(options: {
  readonly databaseUrl: string;
  readonly target: { readonly topic: string; readonly group: string };
  readonly startOffsets: ReadonlyMap<number, number>;
  readonly startedAt: number;
  readonly signal: AbortSignal;
  readonly say: (line: string) => void;
}): Promise<void> {
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const { topic, group } = options.target;
  // The table appears with the consumer's first migration; until then nothing is stored.
  const committed = () =>
    sql`SELECT partition, next_offset FROM consumer_offsets
      WHERE consumer_group = ${group} AND topic = ${topic}`
      .then((rows) =>
        rows.map((row) => ({ partition: row.partition, nextOffset: Number(row.next_offset) }))
      )
      .catch(() => []);
  try {
    while (!options.signal.aborted) {
      const counted = countedSince(options.startOffsets, await committed());
      if (counted > 0) {
        const seconds = ((performance.now() - options.startedAt) / 1000).toFixed(1);
        options.say(
          `events are in PostgreSQL: ${counted} messages of this run counted, ${seconds} s ` +
            "after start",
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
}
