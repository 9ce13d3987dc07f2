/**
 * Sessions, page views and distinct users as the consumer's flush statement writes them into a
 * real PostgreSQL: the same tables whatever order the events arrive in, however flushes cut them
 * and when two flushes of the same sessions commit at once; equal to an independent reading of
 * the messages (testing/analytics_expected.ts).
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { deleteExpired, retentionTargets } from "../consumer/maintenance.ts";
import type { Store } from "../consumer/store.ts";
import {
  assertStoredAnalytics,
  expectedPageViews,
  expectedSessions,
  expectedUsers,
  parseTopicMessage,
} from "../testing/analytics_expected.ts";
import { analyticsMessages, commitMessages } from "../testing/analytics_input.ts";
import { withStore } from "../testing/consumer_store.ts";
import { seededRandom } from "../testing/mod.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");

function messages(seed: number): Uint8Array[] {
  return analyticsMessages({ seed, users: 40, days: 2, nowMs: NOW });
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function flush(store: Store, values: Uint8Array[], partition: number, from: number) {
  return commitMessages(store, values, { partition, from, nowMs: NOW });
}

Deno.test("sessions, pages and users are the same however events are ordered and flushes are cut", async () => {
  const values = messages(7);
  const events = values.map((value) => parseTopicMessage(value, NOW)!);
  assert.ok(events.every((event) => event !== undefined));
  assert.ok(events.some((event) => event.session === null), "legacy events are in the mix");
  const random = seededRandom(99);
  const scenarios: [string, (store: Store) => Promise<void>][] = [
    ["one flush in order", async (store) => {
      await flush(store, values, 0, 0);
    }],
    ["nine flushes, shuffled", async (store) => {
      const order = shuffled(values, random);
      const size = Math.ceil(order.length / 9);
      for (let from = 0; from < order.length; from += size) {
        await flush(store, order.slice(from, from + size), 0, from);
      }
    }],
    ["two partitions committing at once, shuffled", async (store) => {
      // A client that does not key by user: a session's events land in both partitions.
      const order = shuffled(values, random);
      const half = Math.ceil(order.length / 2);
      const parts = [order.slice(0, half), order.slice(half)];
      const size = Math.ceil(half / 5);
      for (let from = 0; from < half; from += size) {
        await Promise.all(
          parts.map((part, partition) =>
            part.length > from ? flush(store, part.slice(from, from + size), partition, from) : 0
          ),
        );
      }
    }],
  ];
  for (const [label, run] of scenarios) {
    await withStore("consumer_analytics", async (store) => {
      await run(store);
      await assertStoredAnalytics(store.sql, events, `${label}:`);
    });
  }
});

Deno.test("a flush reports the rows it wrote and the time it spent per table", async () => {
  await withStore("consumer_analytics_rows", async (store) => {
    const values = messages(3);
    const first = await flush(store, values, 0, 0);
    const events = values.map((value) => parseTopicMessage(value, NOW)!);
    const sessions = expectedSessions(events);
    assert.equal(first.rows.sessions, sessions.size);
    assert.equal(first.rows.user_numbers, 40 + 8);
    // Into empty tables: a row per minute and page viewed, and (48 users: one chunk of a
    // bitmap) one per minute and per day with an event.
    assert.equal(first.rows.page_view_minute, expectedPageViews(events).size);
    assert.equal(first.rows.user_bitmap_minute, expectedUsers(events, 16).size);
    assert.equal(first.rows.user_bitmap_day, expectedUsers(events, 10).size);
    for (const [step, ms] of Object.entries(first.timings)) {
      assert.ok(Number.isFinite(ms) && ms >= 0, `${step}: ${ms}`);
    }
    const steps = Object.entries(first.timings).filter(([step]) => step !== "statement");
    const sum = steps.reduce((total, [, ms]) => total + ms, 0);
    assert.ok(sum <= first.timings.statement + 1, `${sum} ms of ${first.timings.statement} ms`);
    assert.deepEqual(
      steps.map(([step]) => step).sort(),
      ["offsets", ...Object.keys(first.rows)].sort(),
    );
    // The same events again: every user is known and in every bitmap already.
    const again = await flush(store, values, 0, values.length);
    assert.equal(again.rows.user_numbers, 0);
    assert.equal(again.rows.user_bitmap_minute + again.rows.user_bitmap_day, 0);
    assert.equal(again.rows.sessions, sessions.size);
  });
});

Deno.test("retention trims sessions, page views and bitmaps with the per-minute data, rollups at theirs", async () => {
  const nowMs = Date.now() - 100 * 86_400_000;
  await withStore("consumer_analytics_retention", async (store) => {
    await commitMessages(store, analyticsMessages({ seed: 1, users: 20, days: 2, nowMs }), {
      partition: 0,
      from: 0,
      nowMs,
    });
    await assertRetention(store.sql);
  });
});

async function assertRetention(sql: postgres.Sql): Promise<void> {
  const tables = [
    "sessions",
    "page_view_minute",
    "user_bitmap_minute",
    "page_view_hour",
    "session_hour",
    "session_length_hour",
    "session_length_day",
    "user_bitmap_hour",
    "user_bitmap_day",
    "user_numbers",
  ];
  const filled = async () => {
    const kept: string[] = [];
    for (const table of tables) {
      const [{ any }] = await sql.unsafe(`SELECT EXISTS (SELECT FROM ${table}) AS any`);
      if (any) kept.push(table);
    }
    return kept;
  };
  assert.deepEqual(await filled(), tables);
  await deleteExpired(sql, retentionTargets({ retentionDays: 365, rollupRetentionDays: 0 }), {
    nowMs: Date.now(),
  });
  assert.deepEqual(await filled(), tables, "nothing is 365 days old");
  await deleteExpired(sql, retentionTargets({ retentionDays: 30, rollupRetentionDays: 0 }), {
    nowMs: Date.now(),
  });
  assert.deepEqual(await filled(), tables.slice(3), "rollups are kept by default");
  await deleteExpired(sql, retentionTargets({ retentionDays: 30, rollupRetentionDays: 60 }), {
    nowMs: Date.now(),
  });
  assert.deepEqual(await filled(), ["user_numbers"]);
}
