import assert from "node:assert/strict";
import { EVENT_FIELDS, LEGACY_FIELDS, REJECT_REASONS } from "@activity/shared";
import {
  fieldTable,
  markers,
  MESSAGE_FORMAT_DOC,
  reasonTable,
  TABLES,
  withGeneratedTables,
} from "./message_format.ts";

Deno.test("docs/message-format.md's tables are what the event module generates", async () => {
  const doc = await Deno.readTextFile(MESSAGE_FORMAT_DOC);
  for (const name of TABLES) {
    const { start, end } = markers(name);
    assert.ok(doc.indexOf(start) >= 0 && doc.indexOf(start) < doc.indexOf(end), name);
  }
  assert.equal(
    await withGeneratedTables(doc),
    doc,
    "docs/message-format.md is out of date: run deno run -A tools/message_format.ts --write",
  );
});

Deno.test("every field of both shapes and every rejection reason has one row", () => {
  for (const fields of [EVENT_FIELDS, LEGACY_FIELDS]) {
    const table = fieldTable(fields);
    assert.equal(table.trim().split("\n").length, fields.length + 2);
    for (const spec of fields) assert.ok(table.includes(`| \`${spec.name}\` |`), spec.name);
  }
  const reasons = reasonTable();
  for (const reason of REJECT_REASONS) assert.ok(reasons.includes(`| \`${reason}\` |`), reason);
  assert.ok(fieldTable(EVENT_FIELDS).includes("| `properties` | object | no |"));
});
