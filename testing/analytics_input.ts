/**
 * Input for the product analytics tests: seeded messages with sessions, funnel pages, referrers,
 * same-millisecond views and old-prototype events, and a way to commit them through the
 * consumer's own aggregation, plan and flush statement (no Kafka needed).
 */
import assert from "node:assert/strict";
import { aggregateBatch, planFlush } from "../consumer/mod.ts";
import type { PartitionRange } from "../consumer/offset_fence.ts";
import type { CommitOutcome, Store } from "../consumer/store.ts";
import { claimTopic } from "../consumer/topic_owner.ts";
import { seededRandom } from "./pipeline_events.ts";

const PAGES = ["/", "/search", "/products", "/products/1", "/products/2", "/cart", "/checkout"];
const REFERRERS = ["search", "social", "email", ""];
const encoder = new TextEncoder();

/** What to generate. */
export interface AnalyticsMessagesOptions {
  readonly seed: number;
  readonly users: number;
  /** Sessions start in the `days` before `nowMs` (and at least an hour before it). */
  readonly days: number;
  readonly nowMs: number;
}

/**
 * Message values of users in 1-3 sessions each (1-15 events within 50 minutes, the first a view
 * with a referrer), with a few views sharing their session's first millisecond, and every fifth
 * user also sending one event in the old prototype's shape (a numeric id: another user).
 */
export function analyticsMessages(options: AnalyticsMessagesOptions): Uint8Array[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const values: Uint8Array[] = [];
  const json = (value: unknown) => values.push(encoder.encode(JSON.stringify(value)));
  for (let user = 0; user < options.users; user++) {
    for (let session = 0; session < 1 + Math.floor(random() * 3); session++) {
      const start = options.nowMs - 3_600_000 - Math.floor(random() * options.days * 86_400_000);
      const events = 1 + Math.floor(random() * 15);
      for (let i = 0; i < events; i++) {
        const type = i === 0 || random() < 0.5 ? "view" : random() < 0.5 ? "scroll" : "click";
        const at = i > 0 && random() < 0.1 ? start : start + Math.floor(random() * 3_000_000);
        const referrer = random() < 0.8 ? (i === 0 ? pick(REFERRERS) : "internal") : undefined;
        json({
          version: 1,
          event_id: crypto.randomUUID(),
          user_id: `user_${user}`,
          session_id: `s_${user}_${session}`,
          event_type: type,
          occurred_at: new Date(at).toISOString(),
          page: pick(PAGES),
          ...(referrer === undefined ? {} : { properties: { referrer } }),
        });
      }
    }
    if (user % 5 === 0) {
      json({
        user_id: user + 100_000,
        event_type: "click",
        timestamp: new Date(options.nowMs - Math.floor(random() * options.days * 86_400_000))
          .toISOString().slice(0, 19),
      });
    }
  }
  return values;
}

/** Commits `values` as one flush of `partition` (offsets from `from`), judged at `nowMs`. */
export async function commitMessages(
  store: Store,
  values: readonly Uint8Array[],
  options: { partition: number; from: number; nowMs: number },
): Promise<Extract<CommitOutcome, { kind: "committed" }>> {
  const { partition, from, nowMs } = options;
  const aggregate = aggregateBatch({
    topic: "t",
    partition,
    messages: values.map((value, i) => ({
      offset: String(from + i),
      timestamp: String(nowMs),
      key: null,
      value,
    })),
  }, { decode: { nowMs } });
  const range: PartitionRange = {
    partition,
    expected: from === 0 ? null : String(from),
    next: String(from + values.length),
    highWatermark: String(from + values.length),
    gaps: [],
  };
  await claimTopic(store.sql, { topic: "t", group: "g", takeOverFrom: "" });
  const plan = planFlush(aggregate, [range], { group: "g", topic: "t", topicId: null });
  const outcome = await store.commitFlush(plan, { deadLetters: [] });
  assert.equal(outcome.kind, "committed");
  return outcome as Extract<CommitOutcome, { kind: "committed" }>;
}
