/**
 * Security in PostgreSQL, against the real server:
 * - the consumer CLI runs as a LOGIN role that is no superuser and may do
 *   nothing but own its database (as `docker/postgres/init.sh` sets up), and
 *   its counts are exact;
 * - hostile strings (SQL, quotes, NULs, control characters, huge keys) are
 *   stored byte for byte, never interpreted;
 * - Grafana's role `grafana_reader`, as the migrations grant it, can read the
 *   dashboard tables and is refused every write and every schema change.
 * Role names are unique per run (roles are cluster-wide) and dropped after.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import { createKafka, ensureTopics, toKafkaBuffer } from "@activity/shared/kafka";
import { MAX_STORED_PAYLOAD_BYTES } from "../consumer/flush_statement.ts";
import {
  assertCountsExact,
  committedMessages,
  type CountedEvent,
  eventMessages,
  explained,
  faultConsumerFlags,
  printFigures,
  publishRaw,
  seededEvents,
  spawnConsumerProcess,
  testServices,
  uniqueName,
  waitUntil,
} from "../testing/mod.ts";
import { databaseUrlWithName } from "../testing/services.ts";
import { ensureReaderRole, READER_ROLE } from "./grafana_fixtures.ts";

const encoder = new TextEncoder();

/** Values no layer may interpret: each must come back exactly as sent. */
const HOSTILE_VALUES: Uint8Array[] = [
  "'; DROP TABLE user_event_summary; --",
  "x'); DELETE FROM consumer_offsets WHERE ('1'='1",
  '{"user_id":"a\'b","event_type":"click"} OR 1=1',
  "$1 $2 $$ $tag$ \\x00 \\\\ E'\\n' %s %n {0}",
  "\u0000\u0001\u0007\u001b[31m\u202e\ufeff",
  "😀 ünïcødé \u2028 \ud7ff",
  "<script>alert(1)</script>",
].map((text) => encoder.encode(text)).concat([
  Uint8Array.from([0x00, 0x27, 0x5c, 0x22, 0xff, 0xfe, 0x00]),
  encoder.encode(`{"page":"${"'".repeat(20_000)}"}`),
]);

/** Valid user ids with every character the schema allows that means something to SQL. */
const HOSTILE_USER_IDS = ["--", "a--b", "-1", "1e3", "null", "NULL", "@@version", "a:b@c.d", "_.:"];

function roleUrl(base: string, database: string, role: string, password: string): string {
  const url = new URL(databaseUrlWithName(base, database));
  url.username = role;
  url.password = password;
  return url.toString();
}

/** Runs `statement` and returns the SQLSTATE it failed with (undefined if it succeeded). */
async function refusal(sql: postgres.Sql, statement: string): Promise<string | undefined> {
  try {
    await sql.unsafe(statement);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

Deno.test("the consumer runs as a non-superuser owner role, stores hostile strings verbatim, and Grafana's role cannot write", async () => {
  const started = performance.now();
  const { brokers, databaseUrl } = await testServices();
  const name = uniqueName("security");
  const writer = `${name}_writer`;
  const grafana = `${name}_grafana`;
  const password = crypto.randomUUID();
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  await ensureReaderRole();
  try {
    await admin.unsafe(`CREATE ROLE "${writer}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
      NOREPLICATION NOBYPASSRLS PASSWORD '${password}'`);
    await admin.unsafe(`CREATE DATABASE "${name}" OWNER "${writer}"`);
    await admin.unsafe(`REVOKE ALL ON DATABASE "${name}" FROM PUBLIC`);
    await admin.unsafe(`GRANT CONNECT ON DATABASE "${name}" TO ${READER_ROLE}`);
    // Grafana's login: exactly grafana_reader's privileges (and PUBLIC's), nothing of its own.
    await admin.unsafe(`CREATE ROLE "${grafana}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
      NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '${password}' IN ROLE ${READER_ROLE}`);
    const inDatabase = postgres(databaseUrlWithName(databaseUrl, name), { max: 1 });
    try {
      await inDatabase.unsafe("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    } finally {
      await inDatabase.end();
    }

    // The consumer, as the writer: migrations, counts, rejections.
    const topic = uniqueName("security");
    const group = uniqueName("security_group");
    const kafka = createKafka({ brokers, clientId: "security-test" });
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    const valid = seededEvents({ count: 20_000, seed: 66 });
    const nowIso = new Date(Date.now() - 120_000).toISOString();
    const hostileEvents = HOSTILE_USER_IDS.map((user_id, i) => ({
      version: 1 as const,
      event_id: crypto.randomUUID(),
      user_id,
      session_id: "s--1",
      event_type: ["click", "view", "scroll"][i % 3],
      occurred_at: nowIso,
      page: '/p?q=\';--&x="1"',
      properties: { q: "'; DROP TABLE consumer_offsets; --", nul: "a\u0000b" },
    }));
    await publishRaw(kafka, topic, eventMessages([...valid, ...hostileEvents]));
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const hostileAt = new Map<string, { key: Uint8Array; value: Uint8Array }>();
    try {
      for (const [i, value] of HOSTILE_VALUES.entries()) {
        const key = Uint8Array.from([...encoder.encode(`k'${i}--`), 0x00, 0xff]);
        const [meta] = await producer.send({
          topic,
          acks: -1,
          messages: [{ key: toKafkaBuffer(key), value: toKafkaBuffer(value) }],
        });
        hostileAt.set(`${meta.partition}:${meta.baseOffset}`, { key, value });
      }
    } finally {
      await producer.disconnect();
    }
    const total = valid.length + hostileEvents.length + HOSTILE_VALUES.length;
    const writerUrl = roleUrl(databaseUrl, name, writer, password);
    {
      await using consumer = spawnConsumerProcess(faultConsumerFlags({
        brokers: brokers.join(","),
        topic,
        group,
        "database-url": writerUrl,
        "dlq-topic": `${topic}.dlq`,
      }));
      const asAdmin = postgres(databaseUrlWithName(databaseUrl, name), { max: 1 });
      try {
        await explained(
          consumer,
          waitUntil("every message is committed", async () => {
            return await committedMessages(asAdmin, group, topic) >= total;
          }),
        );
      } finally {
        await asAdmin.end();
      }
      consumer.kill("SIGTERM");
      const { code, stderr } = await consumer.finished;
      assert.equal(code, 0, stderr.slice(-2_000));
    }

    const asWriter = postgres(writerUrl, { max: 1, onnotice: () => {} });
    const refusals: string[] = [];
    let compared;
    try {
      const [me] = await asWriter`SELECT current_user AS name, rolsuper, rolcreatedb,
          rolcreaterole, rolreplication, rolbypassrls,
          (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)::int AS memberships
        FROM pg_roles r WHERE rolname = current_user`;
      assert.deepEqual({ ...me }, {
        name: writer,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        memberships: 0,
      });
      const owners = await asWriter`SELECT DISTINCT tableowner FROM pg_tables
        WHERE schemaname = 'public'`;
      assert.deepEqual(owners.map((row) => row.tableowner), [writer]);
      for (
        const statement of [
          `CREATE DATABASE "${name}_more"`,
          `CREATE ROLE "${name}_more"`,
          `ALTER ROLE "${writer}" SUPERUSER`,
          `COPY (SELECT 1) TO PROGRAM 'true'`,
          `SELECT pg_read_file('/etc/passwd')`,
          `SELECT * FROM pg_authid`,
          `SET session_replication_role = replica`,
          `ALTER SYSTEM SET work_mem = '1MB'`,
        ]
      ) {
        const code = await refusal(asWriter, statement);
        assert.equal(code, "42501", `the writer could: ${statement} (${code})`);
        refusals.push(statement);
      }

      // Counts exact, the hostile ids stored as the strings they are.
      const counted: CountedEvent[] = [...valid, ...hostileEvents];
      compared = await assertCountsExact(asWriter, counted);
      const users = await asWriter<{ user_id: string }[]>`
        SELECT DISTINCT user_id FROM user_event_summary WHERE user_id = ANY(${HOSTILE_USER_IDS})`;
      assert.deepEqual(users.map((row) => row.user_id).sort(), [...HOSTILE_USER_IDS].sort());

      // Hostile values and keys stored byte for byte (payload up to its bound).
      const rows = await asWriter<{
        partition: number;
        kafka_offset: string;
        payload: Uint8Array;
        message_key: Uint8Array;
        payload_bytes: number;
      }[]>`SELECT partition, kafka_offset, payload, message_key, payload_bytes
        FROM rejected_events`;
      assert.equal(rows.length, HOSTILE_VALUES.length);
      for (const row of rows) {
        const sent = hostileAt.get(`${row.partition}:${row.kafka_offset}`);
        assert.ok(sent, `an unexpected rejection at ${row.partition}:${row.kafka_offset}`);
        const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
        assert.equal(hex(row.payload), hex(sent.value.subarray(0, MAX_STORED_PAYLOAD_BYTES)));
        assert.equal(row.payload_bytes, sent.value.length);
        assert.equal(hex(row.message_key), hex(sent.key));
      }
    } finally {
      await asWriter.end();
    }

    // Grafana's role: reads the dashboard tables, every write and schema change refused.
    const asGrafana = postgres(roleUrl(databaseUrl, name, grafana, password), {
      max: 1,
      onnotice: () => {},
    });
    const grafanaRefused: string[] = [];
    try {
      const [read] = await asGrafana`SELECT sum(event_count)::int AS n FROM event_type_minute`;
      assert.equal(read.n, total - HOSTILE_VALUES.length);
      const tables = await asGrafana<{ table_name: string; first_column: string }[]>`
        SELECT c.relname AS table_name, (SELECT attname FROM pg_attribute
          WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped AND attidentity = ''
          ORDER BY attnum LIMIT 1) AS first_column
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`;
      assert.ok(tables.length >= 10, `only ${tables.length} tables visible`);
      for (const { table_name: table, first_column: column } of tables) {
        for (
          const statement of [
            `INSERT INTO ${table} DEFAULT VALUES`,
            `UPDATE ${table} SET ${column} = ${column}`,
            `DELETE FROM ${table}`,
            `TRUNCATE ${table}`,
            `ALTER TABLE ${table} ADD COLUMN grabbed int`,
            `DROP TABLE ${table}`,
          ]
        ) {
          const code = await refusal(asGrafana, statement);
          assert.equal(code, "42501", `Grafana's role could: ${statement} (${code})`);
          grafanaRefused.push(statement);
        }
      }
      for (
        const statement of [
          "CREATE TABLE grabbed (x int)",
          "CREATE FUNCTION grabbed() RETURNS int LANGUAGE sql AS 'SELECT 1'",
          "SELECT payload FROM rejected_events",
          `SET ROLE "${writer}"`,
        ]
      ) {
        const code = await refusal(asGrafana, statement);
        assert.equal(code, "42501", `Grafana's role could: ${statement} (${code})`);
        grafanaRefused.push(statement);
      }
    } finally {
      await asGrafana.end();
    }
    printFigures("security_database", {
      consumer_role_superuser: false,
      consumer_refusals: refusals.length,
      hostile_values_verbatim: HOSTILE_VALUES.length,
      hostile_user_ids_verbatim: HOSTILE_USER_IDS.length,
      events_compared: compared.events,
      grafana_writes_refused: grafanaRefused.length,
      seconds: (performance.now() - started) / 1000,
    });
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.unsafe(`DROP ROLE IF EXISTS "${grafana}"`);
    await admin.unsafe(`DROP ROLE IF EXISTS "${writer}"`);
    await admin.end();
  }
});
