/**
 * One consumer group per topic and database: a second group would count
 * every event again. The group that first consumes a topic claims it; another
 * group refuses to start unless told to take the topic over, which moves the
 * stored offsets and the ownership in one transaction. The flush statement
 * checks the owner under a share lock (sql/0004), so a flush of the old group
 * racing the take-over is refused.
 */
import type postgres from "postgres";

/** Another group counts the topic into this database. */
export class TopicOwnedError extends Error {
  /** Creates the error with the way to proceed. */
  constructor(readonly topic: string, readonly owner: string, readonly group: string) {
    super(
      `Cannot start: topic "${topic}" is counted into this database by consumer group ` +
        `"${owner}", and a second group would count every event again. Run with ` +
        `--group ${owner} (CONSUMER_GROUP), or hand the topic over to "${group}" with ` +
        `--take-over-from ${owner} (CONSUMER_TAKE_OVER_FROM): its stored offsets move to ` +
        `"${group}" in one transaction; stop the consumers of "${owner}" first.`,
    );
    this.name = "TopicOwnedError";
  }
}

/** What claiming a topic found. */
export type ClaimOutcome =
  | { readonly kind: "claimed" }
  | { readonly kind: "already_owner" }
  | { readonly kind: "taken_over"; readonly from: string; readonly movedOffsets: number };

/**
 * Claims `topic` for `group`, or takes it over from `takeOverFrom` (empty: no take-over).
 * Throws `TopicOwnedError` when another group owns it.
 */
export async function claimTopic(
  sql: postgres.Sql,
  claim: { topic: string; group: string; takeOverFrom: string },
): Promise<ClaimOutcome> {
  const { topic, group, takeOverFrom } = claim;
  return await sql.begin(async (tx) => {
    // Taking over a topic nobody claimed yet still moves the named group's offsets.
    const first = takeOverFrom === "" ? group : takeOverFrom;
    const inserted = await tx`INSERT INTO topic_owners (topic, consumer_group)
      VALUES (${topic}, ${first}) ON CONFLICT (topic) DO NOTHING RETURNING 1`;
    if (inserted.length > 0 && first === group) return { kind: "claimed" as const };
    const [row] = await tx<{ consumer_group: string }[]>`
      SELECT consumer_group FROM topic_owners WHERE topic = ${topic} FOR UPDATE`;
    if (row.consumer_group === group) return { kind: "already_owner" as const };
    if (row.consumer_group !== takeOverFrom) {
      throw new TopicOwnedError(topic, row.consumer_group, group);
    }
    // Offsets the new group stored earlier are stale: the old group's are the truth.
    await tx`DELETE FROM consumer_offsets WHERE consumer_group = ${group} AND topic = ${topic}`;
    const moved = await tx`UPDATE consumer_offsets SET consumer_group = ${group}, updated_at = now()
      WHERE consumer_group = ${takeOverFrom} AND topic = ${topic}`;
    await tx`UPDATE topic_owners SET consumer_group = ${group}, claimed_at = now()
      WHERE topic = ${topic}`;
    return { kind: "taken_over" as const, from: takeOverFrom, movedOffsets: moved.count };
  });
}
