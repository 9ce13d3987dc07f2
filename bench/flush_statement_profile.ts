/**
 * `deno task bench:flush`: where a flush's time goes, per table. Generates a
 * backlog with the producer's simulator (hour-spread by default, as after an
 * outage), aggregates it with the consumer's own code into flushes of a given
 * size, and commits each with the consumer's own statement under
 * `EXPLAIN (ANALYZE)` on a fresh database, attributing the time of each
 * data-modifying CTE (each table write) and of the statement's triggers.
 * PostgreSQL only: no Kafka, no consumer process, so the write path is
 * measured alone.
 */
import {
  commonSettings,
  MINUTE_MS,
  parsers,
  type ProgramDefinition,
  setting,
} from "@activity/shared";
import { loadConfigOrExit } from "@activity/shared/runtime";
import { aggregateBatch, emptyAggregate, migrate, planFlush } from "@activity/consumer";
import { FLUSH, flushParameters } from "../consumer/flush_statement.ts";
import { claimTopic } from "../consumer/topic_owner.ts";
import { minuteBitmaps, usersOf } from "../consumer/user_bitmaps.ts";
import { userNumbers } from "../consumer/user_numbers.ts";
import { createDatabaseNamed } from "../testing/services.ts";
import { maintenanceUrl } from "../tools/services.ts";
import {
  generateMessages,
  MESSAGE_SHAPES,
  type MessageShape,
  messageValue,
} from "./client_messages.ts";

/** How much to generate and how to flush it. */
export interface FlushProfileSpec {
  readonly events: number;
  readonly users: number;
  readonly skew: number;
  readonly spanMinutes: number;
  readonly flushEvents: number;
  readonly shape: MessageShape;
}

/** Time and rows of one part of the statement, summed over the flushes. */
export interface StepCost {
  readonly step: string;
  readonly rows: number;
  readonly ms: number;
}

/** What a profile found. */
export interface FlushProfile {
  readonly spec: FlushProfileSpec;
  readonly flushes: number;
  readonly statementMs: number;
  readonly steps: readonly StepCost[];
  readonly distinctKeysPerEvent: number;
}

interface PlanNode {
  readonly "Node Type": string;
  readonly "Operation"?: string;
  readonly "Relation Name"?: string;
  readonly "Subplan Name"?: string;
  readonly "CTE Name"?: string;
  readonly "Actual Total Time": number;
  readonly "Actual Rows": number;
  readonly "Plans"?: readonly PlanNode[];
}

/** Data-modifying nodes: the table each writes, its rows and its time without its children. */
function writes(node: PlanNode, into: Map<string, { rows: number; ms: number }>): void {
  if (node["Node Type"] === "ModifyTable" && node["Relation Name"]) {
    const childMs = (node.Plans ?? []).reduce((sum, child) => sum + child["Actual Total Time"], 0);
    const key = `${node.Operation?.toLowerCase()} ${node["Relation Name"]}`;
    const entry = into.get(key) ?? { rows: 0, ms: 0 };
    entry.rows += node["Actual Rows"];
    entry.ms += Math.max(0, node["Actual Total Time"] - childMs);
    into.set(key, entry);
  }
  for (const child of node.Plans ?? []) writes(child, into);
}

/** Profiles the flush statement on `spec`'s backlog in a fresh database next to `databaseUrl`. */
export async function profileFlushes(
  adminUrl: string,
  spec: FlushProfileSpec,
): Promise<FlushProfile> {
  const endMs = Date.now() - MINUTE_MS;
  const spanMs = spec.spanMinutes * MINUTE_MS;
  const messages = generateMessages({
    count: spec.events,
    users: spec.users,
    seed: 7,
    userSkew: spec.skew,
    clock: { startMs: endMs - spanMs, spanMs },
    shape: spec.shape,
  });
  const name = `flush_profile_${crypto.randomUUID().slice(0, 8)}`;
  // Created from the server's maintenance database, so the URL's own need not exist.
  await using db = await createDatabaseNamed(maintenanceUrl(adminUrl), name);
  await migrate(db.url);
  await claimTopic(db.sql, { topic: "profile", group: "profile", takeOverFrom: "" });
  const steps = new Map<string, { rows: number; ms: number }>();
  const numbers = userNumbers(db.sql);
  let statementMs = 0;
  let flushes = 0;
  let distinct = 0;
  for (let start = 0; start < spec.events; start += spec.flushEvents) {
    const end = Math.min(spec.events, start + spec.flushEvents);
    const batch = Array.from({ length: end - start }, (_, i) => ({
      offset: String(start + i),
      timestamp: String(Date.now()),
      key: null,
      value: messageValue(messages, start + i),
    }));
    const aggregate = aggregateBatch({ topic: "profile", partition: 0, messages: batch }, {
      decode: { nowMs: Date.now() },
      into: emptyAggregate(),
    });
    const plan = planFlush(aggregate, [{
      partition: 0,
      expected: start === 0 ? null : String(start),
      next: String(end),
      highWatermark: String(spec.events),
      gaps: [],
    }], { group: "profile", topic: "profile", topicId: null });
    distinct += plan.counts.users.length;
    // The parameters are made before the clock starts: it times the statement alone.
    const parameters = flushParameters(plan, {
      deadLetters: [],
      bitmaps: minuteBitmaps(plan.counts, (await numbers.numbersFor(usersOf(plan.counts))).numbers),
    });
    const started = performance.now();
    const [row] = await db.sql.unsafe<
      {
        "QUERY PLAN": {
          Plan: PlanNode;
          "Triggers"?: { "Trigger Name": string; "Time": number; "Calls": number }[];
        }[];
      }[]
    >(`EXPLAIN (ANALYZE, FORMAT JSON) ${FLUSH}`, parameters as never[]);
    statementMs += performance.now() - started;
    flushes++;
    const [explained] = row["QUERY PLAN"];
    writes(explained.Plan, steps);
    for (const trigger of explained.Triggers ?? []) {
      const key = `trigger ${trigger["Trigger Name"]}`;
      const entry = steps.get(key) ?? { rows: 0, ms: 0 };
      entry.rows += trigger.Calls;
      entry.ms += trigger.Time;
      steps.set(key, entry);
    }
  }
  return {
    spec,
    flushes,
    statementMs,
    steps: [...steps].map(([step, cost]) => ({ step, ...cost })).sort((a, b) => b.ms - a.ms),
    distinctKeysPerEvent: distinct / spec.events,
  };
}

/** The profile as a table: per flush, rows and milliseconds of each step. */
export function renderProfile(profile: FlushProfile): string {
  const perFlush = (n: number) => n / profile.flushes;
  const lines = [
    `${profile.spec.events} ${profile.spec.shape} events from ${profile.spec.users} users over ` +
    `${profile.spec.spanMinutes} min, flushes of ${profile.spec.flushEvents}: ` +
    `${profile.flushes} flushes, ${profile.distinctKeysPerEvent.toFixed(3)} distinct keys/event`,
    `statement: ${perFlush(profile.statementMs).toFixed(0)} ms per flush, ` +
    `${(profile.statementMs / profile.spec.events * 1000).toFixed(2)} µs per event`,
    "",
    "| step | rows per flush | ms per flush | µs per row |",
    "| --- | ---: | ---: | ---: |",
    ...profile.steps.map((step) =>
      `| ${step.step} | ${perFlush(step.rows).toFixed(0)} | ${perFlush(step.ms).toFixed(0)} | ${
        step.rows > 0 ? (step.ms / step.rows * 1000).toFixed(1) : "-"
      } |`
    ),
  ];
  return lines.join("\n");
}

const profileSettings = {
  events: setting({
    flag: "events",
    fallback: "400000",
    help: "Events to generate and flush.",
    allowed: "a whole number from 1 to 10000000",
    schema: parsers.integer(1, 10_000_000),
  }),
  users: setting({
    flag: "users",
    fallback: "10000",
    help: "Simulated users.",
    allowed: "a whole number from 1 to 1000000",
    schema: parsers.integer(1, 1_000_000),
  }),
  skew: setting({
    flag: "skew",
    fallback: "0.7",
    help: "Zipf exponent of the users' activity (the backlog phase's).",
    allowed: "a number from 0 to 4",
    schema: parsers.number(0, 4),
  }),
  minutes: setting({
    flag: "minutes",
    fallback: "60",
    help: "Minutes the events' timestamps spread over, ending a minute ago.",
    allowed: "a number of minutes from 0.01 to 1440",
    schema: parsers.number(0.01, 1_440),
  }),
  flushEvents: setting({
    flag: "flush-events",
    fallback: "180000",
    help: "Events per flush.",
    allowed: "a whole number from 1 to 10000000",
    schema: parsers.integer(1, 10_000_000),
  }),
  shape: setting({
    flag: "shape",
    fallback: "canonical",
    help: "Message shape: the canonical event or the old prototype's.",
    allowed: `one of ${MESSAGE_SHAPES.join(", ")}`,
    schema: parsers.oneOf(MESSAGE_SHAPES),
  }),
  json: setting({
    flag: "json",
    fallback: "false",
    help: "Print the profile as JSON.",
    allowed: "true or false",
    schema: parsers.oneOf(["true", "false"] as const).transform((value) => value === "true"),
  }),
  databaseUrl: commonSettings.databaseUrl,
};

/** The settings of `deno task bench:flush`. */
export const flushProfileProgram: ProgramDefinition<typeof profileSettings> = {
  name: "bench:flush",
  summary: "profiles the consumer's flush statement per table on a generated backlog",
  settings: profileSettings,
};

if (import.meta.main) {
  const config = loadConfigOrExit(flushProfileProgram);
  const profile = await profileFlushes(config.databaseUrl, {
    events: config.events,
    users: config.users,
    skew: config.skew,
    spanMinutes: config.minutes,
    flushEvents: config.flushEvents,
    shape: config.shape,
  });
  console.log(config.json ? JSON.stringify(profile, null, 2) : renderProfile(profile));
}
