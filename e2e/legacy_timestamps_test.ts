/**
 * The old Python prototype's messages, with their timestamp in
 * every form Python writes one, published by another client without a key,
 * read by the consumer CLI: each is counted in the minute it happened (UTC
 * when it has no offset), and a timestamp that is no date is stored with a
 * detail saying what was expected.
 */
import assert from "node:assert/strict";
import {
  assertCountsExact,
  type CountedEvent,
  printFigures,
  startConsumerRun,
  topicMessageCount,
} from "../testing/mod.ts";
import { publishForeign } from "../testing/foreign_producer.ts";

const TYPES = ["click", "view", "scroll"];

/** `YYYY-MM-DDTHH:MM:SS.ffffff` of a UTC instant in microseconds, shifted by `offsetMinutes`. */
function wallClock(us: number, offsetMinutes = 0): string {
  const shifted = us + offsetMinutes * 60_000_000;
  const iso = new Date(Math.floor(shifted / 1000)).toISOString();
  return `${iso.slice(0, 19)}.${String(shifted % 1_000_000).padStart(6, "0")}`;
}

function offset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
    String(abs % 60).padStart(2, "0")
  }`;
}

/** Each form: how Python writes an instant (in microseconds) into `timestamp`. */
const FORMS: readonly { name: string; write: (us: number) => string | number }[] = [
  { name: "isoformat()", write: (us) => wallClock(us) },
  {
    name: "isoformat(), whole seconds",
    write: (us) => wallClock(us - (us % 1_000_000)).slice(0, 19),
  },
  { name: "isoformat() of an aware UTC time", write: (us) => `${wallClock(us)}+00:00` },
  { name: "isoformat() at +05:30", write: (us) => `${wallClock(us, 330)}${offset(330)}` },
  { name: "an ISO time with Z", write: (us) => `${wallClock(us)}Z` },
  { name: "str()", write: (us) => wallClock(us).replace("T", " ") },
  {
    name: "str(), whole seconds",
    write: (us) => wallClock(us - (us % 1_000_000)).slice(0, 19).replace("T", " "),
  },
  { name: "str() of an aware UTC time", write: (us) => `${wallClock(us).replace("T", " ")}+00:00` },
  {
    name: "str() at -03:00",
    write: (us) => `${wallClock(us, -180).replace("T", " ")}${offset(-180)}`,
  },
  { name: "int(time.time())", write: (us) => Math.floor(us / 1_000_000) },
  { name: "time.time()", write: (us) => us / 1_000_000 },
  { name: "int(time.time() * 1000)", write: (us) => Math.floor(us / 1000) },
  { name: "time.time() * 1000", write: (us) => us / 1000 },
];

/** The instant each form keeps: whole seconds for the forms that drop the fraction. */
function countedAt(name: string, us: number): number {
  const whole = name.includes("whole seconds") || name === "int(time.time())";
  return Math.floor((whole ? us - (us % 1_000_000) : us) / 1000);
}

/** Python's json.dumps: ", " and ": " between items. */
function pythonJson(record: Record<string, string | number>): string {
  return `{${
    Object.entries(record).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")
  }}`;
}

Deno.test("old-prototype messages with every Python timestamp form, published without a key by another client, are each counted in their own UTC minute", async () => {
  const started = performance.now();
  await using run = await startConsumerRun({ name: "legacy_time", partitions: 3 });
  // Each form in a minute of its own, at moments that test the minute's edges.
  const minute = Math.floor((Date.now() - 20 * 60_000) / 60_000) * 60_000;
  const moments = [15_123_456, 59_999_600, 0, 30_000_001];
  const values: string[] = [];
  const expected: CountedEvent[] = [];
  FORMS.forEach((form, f) => {
    moments.forEach((moment, m) => {
      const us = (minute - f * 60_000) * 1000 + moment;
      const userId = m === 3 ? 4200 + f : `py_${f}_${m}`;
      const eventType = TYPES[(f + m) % TYPES.length];
      values.push(
        pythonJson({ user_id: userId, event_type: eventType, timestamp: form.write(us) }),
      );
      expected.push({
        user_id: String(userId),
        event_type: eventType,
        occurred_at: new Date(countedAt(form.name, us)).toISOString(),
      });
    });
  });
  const bad = pythonJson({ user_id: "py_bad", event_type: "view", timestamp: "yesterday" });
  const client = await publishForeign(run.brokers, run.topic, [...values, bad]);
  const total = values.length + 1;
  assert.equal(await topicMessageCount(run.kafka, run.topic), total);

  await run.reach(total);
  assert.equal(run.exited(), false, "the consumer stopped");
  const compared = await assertCountsExact(run.db.sql, expected);
  const rejected = await run.db.sql<{ reason: string; detail: string }[]>`
    SELECT reason, detail FROM rejected_events`;
  assert.equal(rejected.length, 1, "only the timestamp that is no date is rejected");
  assert.equal(rejected[0].reason, "schema_violation");
  assert.match(
    rejected[0].detail,
    /^timestamp: expected an ISO 8601 date-time .* or epoch seconds\/milliseconds .*, got "yesterday"$/,
  );
  const [legacy] = await run.db.sql<{ n: string }[]>`
    SELECT coalesce(sum(events_accepted), 0) AS n FROM ingest_minute`;
  assert.equal(Number(legacy.n), values.length);

  run.consumer.kill("SIGTERM");
  const { code, stderr } = await run.consumer.finished;
  assert.equal(code, 0, stderr.slice(-2_000));
  printFigures("legacy_timestamps", {
    client,
    forms: FORMS.length,
    messages: total,
    minutes_checked: FORMS.length,
    events_compared: compared.events,
    rows_compared: compared.rows,
    rejected: rejected.length,
    seconds: (performance.now() - started) / 1000,
  });
});
