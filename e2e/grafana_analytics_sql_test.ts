/**
 * The product analytics panels' SQL, expanded as Grafana expands it and run as the reader role,
 * on tables written by the consumer's own flush statement: every panel equals the independent
 * computation of `testing/analytics_expected.ts` for the dashboard's ranges and for ranges whose
 * edges fall on and between minute, hour and day boundaries (the distinct users tiling).
 */
import assert from "node:assert/strict";
import { panelTimeRange } from "@activity/grafana/emulation";
import { openStore } from "../consumer/store.ts";
import { expectedPanels, parseTopicMessage } from "../testing/analytics_expected.ts";
import { analyticsMessages, commitMessages } from "../testing/analytics_input.ts";
import { seededRandom } from "../testing/pipeline_events.ts";
import { dashboardDatabase, dashboardQueries, runAsGrafana } from "./grafana_fixtures.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const DAY = 86_400_000;

Deno.test("every analytics panel equals an independent reading of the events, for any range", async () => {
  await using db = await dashboardDatabase("grafana_analytics");
  const values = analyticsMessages({ seed: 5, users: 150, days: 6, nowMs: NOW });
  // Users seen once, just inside and just outside the edges of the ranges below (old shape).
  const lone = [
    "2026-05-30T14:20:00Z",
    "2026-05-30T14:21:00Z",
    "2026-05-30T15:00:00Z",
    "2026-05-30T16:59:59.999Z",
    "2026-05-30T17:00:00Z",
    "2026-05-30T17:20:59Z",
    "2026-05-30T17:21:00Z",
    "2026-05-28T23:59:59Z",
    "2026-05-29T00:00:00Z",
    "2026-05-30T23:59:30Z",
    "2026-05-31T00:00:00Z",
  ];
  values.push(
    ...lone.map((timestamp, i) =>
      new TextEncoder().encode(
        JSON.stringify({ user_id: `edge_${i}`, event_type: "view", timestamp }),
      )
    ),
  );
  const store = openStore(db.url);
  try {
    // Several flushes, so sessions and bitmaps are merged across them.
    const size = Math.ceil(values.length / 4);
    for (let from = 0; from < values.length; from += size) {
      await commitMessages(store, values.slice(from, from + size), {
        partition: 0,
        from,
        nowMs: NOW,
      });
    }
  } finally {
    await store.close();
  }
  const events = values.map((value) => parseTopicMessage(value, NOW)!);
  const queries = [...dashboardQueries()].filter(([key]) => /^panel (1[2-9]|20) /.test(key));
  assert.equal(queries.length, 9);

  const random = seededRandom(11);
  // [the moment looked at, the range's length in seconds]
  const ranges: [number, number][] = [
    [NOW, 6 * 3600],
    [NOW, 30 * 86400],
    // Edges exactly on minute, hour and day boundaries, and a millisecond off them.
    [Date.parse("2026-05-31T00:00:00Z"), 86400],
    [Date.parse("2026-05-31T00:00:00Z") - 1, 2 * 86400],
    [Date.parse("2026-05-30T17:00:00Z"), 3 * 3600],
    [Date.parse("2026-05-30T16:59:59.999Z"), 3 * 3600 + 1],
    [Date.parse("2026-05-30T16:42:00Z"), 7 * 60],
    [Date.parse("2026-05-30T17:20:30Z"), 3 * 3600],
  ];
  for (const length of [180, 3_000, 5 * 3600, 26 * 3600, 84 * 3600, 5 * 86400]) {
    for (let i = 0; i < 3; i++) {
      const end = NOW - Math.floor(random() * 4 * DAY / 1000) * 1000 - Math.floor(random() * 1000);
      ranges.push([end, length + Math.floor(random() * 600)]);
    }
  }
  for (const [end, seconds] of ranges) {
    const now = new Date(end);
    const range = { from: `now-${seconds}s`, to: "now" };
    const expected = expectedPanels(events, panelTimeRange(range, undefined, now));
    for (const [key, query] of queries) {
      const { rows } = await runAsGrafana(db.sql, query, { now, range });
      assert.deepEqual(
        rows,
        expected.get(key),
        `${key} ${query.title}, ${seconds} s to ${now.toISOString()}`,
      );
    }
  }
  // The ranges were not empty: the figures compared are real ones.
  const month = expectedPanels(events, { from: new Date(NOW - 30 * DAY), to: new Date(NOW) });
  assert.ok((month.get("panel 12 A")![0].distinct_users as number) > 150);
  assert.equal(month.get("panel 20 A")!.length, 4);
});
