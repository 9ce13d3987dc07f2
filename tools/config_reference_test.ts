import assert from "node:assert/strict";
import {
  generatedReference,
  MARKERS,
  PROGRAMS,
  REFERENCE_DOC,
  referenceRows,
  renderEnvExample,
  replaceTable,
} from "./config_reference.ts";
import { REPO_ROOT } from "./compile.ts";
import { COMPOSE_VARIABLES } from "./compose_settings.ts";

Deno.test("docs/configuration.md's reference and .env.example are what the definitions generate", async () => {
  const { table, envExample } = await generatedReference();
  const doc = await Deno.readTextFile(REFERENCE_DOC);
  assert.equal(
    replaceTable(doc, table),
    doc,
    "docs/configuration.md is out of date: run deno run -A tools/config_reference.ts --write",
  );
  assert.equal(
    await Deno.readTextFile(`${REPO_ROOT}/.env.example`),
    envExample,
    ".env.example is out of date: run deno run -A tools/config_reference.ts --write",
  );
});

Deno.test("every setting of both programs and every compose variable has one row", async () => {
  const { table } = await generatedReference();
  for (const program of PROGRAMS) {
    for (const spec of Object.values(program.settings)) {
      const name = spec.env ? `\`${spec.env}\`` : `\`--${spec.flag}\``;
      const rows = table.split("\n").filter((line) => line.startsWith(`| ${name} `));
      assert.equal(rows.length, 1, `${name} of ${program.name}`);
      assert.ok(rows[0].includes(`\`--${spec.flag}\``), `${name} lacks its flag --${spec.flag}`);
      assert.ok(rows[0].includes(program.name), `${name} does not name ${program.name}`);
    }
  }
  for (const variable of COMPOSE_VARIABLES) {
    assert.ok(table.includes(`| \`${variable.name}\``), variable.name);
  }
  const doc = await Deno.readTextFile(REFERENCE_DOC);
  assert.ok(doc.indexOf(MARKERS.start) < doc.indexOf(MARKERS.end));
});

Deno.test("shared variables are merged and values compose fixes are named, not offered in .env", () => {
  const rows = referenceRows(PROGRAMS, {
    producer: { KAFKA_BROKERS: "kafka:19092", KAFKA_TOPIC: "${KAFKA_TOPIC:-}" },
    consumer: { KAFKA_BROKERS: "kafka:19092", DATABASE_URL: "postgres://w:${P:-x}@db/a" },
  });
  const brokers = rows.find((row) => row.variable === "KAFKA_BROKERS")!;
  assert.deepEqual(brokers.usedBy, ["producer", "consumer"]);
  assert.equal(brokers.composeValue, "kafka:19092");
  assert.equal(
    rows.find((row) => row.variable === "DATABASE_URL")!.composeValue,
    "postgres://w:$P@db/a",
  );
  assert.equal(rows.find((row) => row.variable === "KAFKA_TOPIC")!.composeValue, undefined);
  const env = renderEnvExample(rows);
  assert.match(env, /^KAFKA_TOPIC=$/m);
  assert.doesNotMatch(env, /^KAFKA_BROKERS=/m);
  assert.doesNotMatch(env, /^DATABASE_URL=/m);
  assert.match(env, /^GRAFANA_ADMIN_PASSWORD=admin$/m);
});
