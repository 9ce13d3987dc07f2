/**
 * Test input for the consumer and the counts it must produce, computed
 * independently of the consumer's code: a seeded stream of events, published
 * raw with KafkaJS, and the expected rows of every count table derived from
 * the events' ISO timestamps by string slicing (no shared bucketing code).
 */
import type { Buffer } from "node:buffer";
import postgres from "postgres";
import type { Kafka } from "kafkajs";
import { type ActivityEvent, encode } from "@activity/shared";
import { toKafkaBuffer } from "@activity/shared/kafka";

/** A message to publish: key and raw value (null is a tombstone). */
export interface RawMessage {
  readonly key: string | null;
  readonly value: Uint8Array | null;
}

/** A small deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of `seededEvents`. */
export interface SeededEventsOptions {
  readonly count: number;
  readonly seed: number;
  readonly users?: number;
  readonly nowMs?: number;
  readonly types?: readonly string[];
  /** All events occur within this many milliseconds before now (default: the mix below). */
  readonly spanMs?: number;
}

/**
 * `count` valid events from a skewed population; most occurred in the last 20 minutes, some
 * over the last 3 hours and a few over the last 40 hours (so hours and days are crossed).
 */
export function seededEvents(options: SeededEventsOptions): ActivityEvent[] {
  const random = seededRandom(options.seed);
  const users = options.users ?? 2_000;
  const nowMs = options.nowMs ?? Date.now();
  const types = options.types ?? ["click", "view", "scroll"];
  const events: ActivityEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const roll = random();
    const spanMs = options.spanMs ??
      (roll < 0.9 ? 20 * 60_000 : roll < 0.99 ? 3 * 3_600_000 : 40 * 3_600_000);
    const user = Math.floor(users * random() ** 3);
    events.push({
      version: 1,
      event_id: crypto.randomUUID(),
      user_id: `user_${user}`,
      session_id: `s_${user}_${Math.floor(random() * 4)}`,
      event_type: types[Math.floor(random() * types.length)],
      occurred_at: new Date(nowMs - 1_000 - Math.floor(random() * spanMs)).toISOString(),
      page: `/p/${Math.floor(random() * 40)}`,
      ...(random() < 0.3 ? { properties: { button: "buy", price: 9.5 } } : {}),
    });
  }
  return events;
}

/** Events as raw messages keyed by user. */
export function eventMessages(events: readonly ActivityEvent[]): RawMessage[] {
  return events.map((event) => ({ key: event.user_id, value: encode(event) }));
}

/** Publishes messages in batches with all in-sync replicas acknowledging. */
export async function publishRaw(
  kafka: Kafka,
  topic: string,
  messages: readonly RawMessage[],
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 2_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + 2_000).map((message) => ({
          key: message.key,
          value: message.value === null ? null : (toKafkaBuffer(message.value) as Buffer),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Expected rows of each count table, keyed by their primary key as text. */
export interface ExpectedCounts {
  readonly summary: Map<string, number>;
  readonly hourly: Map<string, number>;
  readonly daily: Map<string, number>;
  readonly typeMinute: Map<string, number>;
  readonly activeUsers: Map<string, number>;
  readonly total: number;
}

/** Counts the events the way the tables must hold them (UTC minute/hour/day by ISO prefix). */
export function expectedCounts(events: readonly ActivityEvent[]): ExpectedCounts {
  const summary = new Map<string, number>();
  const hourly = new Map<string, number>();
  const daily = new Map<string, number>();
  const typeMinute = new Map<string, number>();
  const users = new Map<string, Set<string>>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const event of events) {
    const iso = new Date(event.occurred_at).toISOString();
    const minute = iso.slice(0, 16);
    add(summary, `${event.user_id}|${minute}|${event.event_type}`);
    add(hourly, `${event.user_id}|${iso.slice(0, 13)}|${event.event_type}`);
    add(daily, `${event.user_id}|${iso.slice(0, 10)}|${event.event_type}`);
    add(typeMinute, `${minute}|${event.event_type}`);
    if (!users.has(minute)) users.set(minute, new Set());
    users.get(minute)!.add(event.user_id);
  }
  const activeUsers = new Map([...users].map(([minute, set]) => [minute, set.size]));
  return { summary, hourly, daily, typeMinute, activeUsers, total: events.length };
}

/** Reads the count tables into the same shape as `expectedCounts`. */
export async function storedCounts(sql: postgres.Sql): Promise<ExpectedCounts> {
  const read = async (query: string) => {
    const rows = await sql.unsafe<{ k: string; n: string }[]>(query);
    return new Map(rows.map((row) => [row.k, Number(row.n)]));
  };
  const minute = (column: string) =>
    `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI')`;
  const summary = await read(
    `SELECT user_id || '|' || ${minute("event_minute")} || '|' || event_type AS k,
       event_count AS n FROM user_event_summary`,
  );
  return {
    summary,
    hourly: await read(
      `SELECT user_id || '|' || to_char(event_hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') ||
         '|' || event_type AS k, event_count AS n FROM user_event_hourly`,
    ),
    daily: await read(
      `SELECT user_id || '|' || to_char(event_day AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '|' ||
         event_type AS k, event_count AS n FROM user_event_daily`,
    ),
    typeMinute: await read(
      `SELECT ${minute("event_minute")} || '|' || event_type AS k, event_count AS n
       FROM event_type_minute`,
    ),
    activeUsers: await read(
      `SELECT ${minute("event_minute")} AS k, active_users AS n FROM active_users_minute`,
    ),
    total: [...summary.values()].reduce((sum, n) => sum + n, 0),
  };
}

/** The differences between two count maps, at most `limit` of them, for assertion messages. */
export function countDifferences(
  expected: ReadonlyMap<string, number>,
  actual: ReadonlyMap<string, number>,
  limit = 5,
): string[] {
  const differences: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    if (expected.get(key) !== actual.get(key)) {
      differences.push(`${key}: expected ${expected.get(key)}, stored ${actual.get(key)}`);
      if (differences.length >= limit) break;
    }
  }
  return differences;
}

/** Sum of the stored next offsets of a group (the messages it has committed, on a fresh topic). */
export async function committedMessages(
  sql: postgres.Sql,
  group: string,
  topic: string,
): Promise<number> {
  // Before the consumer's migrations ran there is no table yet: nothing is committed.
  const [exists] = await sql`SELECT to_regclass('consumer_offsets') IS NOT NULL AS ok`;
  if (!exists.ok) return 0;
  const [row] = await sql<{ n: string }[]>`
    SELECT coalesce(sum(next_offset), 0) AS n FROM consumer_offsets
    WHERE consumer_group = ${group} AND topic = ${topic}`;
  return Number(row.n);
}

/** Events counted as accepted in `ingest_minute` (0 before the consumer's migrations ran). */
export async function acceptedEvents(sql: postgres.Sql): Promise<number> {
  const [exists] = await sql`SELECT to_regclass('ingest_minute') IS NOT NULL AS ok`;
  if (!exists.ok) return 0;
  const [row] = await sql<{ n: string }[]>`
    SELECT coalesce(sum(events_accepted), 0) AS n FROM ingest_minute`;
  return Number(row.n);
}

/** Polls `condition` every 100 ms until it holds, or fails after `timeoutMs` saying `what`. */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean>,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
