/** The flush's array literals, read back by a real PostgreSQL as the values they were made of. */
import assert from "node:assert/strict";
import { arrayLiteral } from "../consumer/array_literal.ts";
import { createTestDatabase } from "../testing/mod.ts";

Deno.test("PostgreSQL reads every array literal back as the values it was made of", async () => {
  await using db = await createTestDatabase("array_literal");
  const texts = [
    "user_1",
    "",
    "NULL",
    "null",
    "a,b",
    "{x}",
    ' "quoted" ',
    "back\\slash\\",
    '\\"',
    "tab\there",
    "new\nline",
    "é ü 日本",
    "🙂",
    null,
  ];
  const numbers = [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
  const uuids = ["00000000-0000-0000-0000-000000000000", null];
  // Read back element by element: postgres.js's own array parser is not what is tested here.
  const read = async (literal: string, type: string) =>
    (await db.sql.unsafe<{ value: string | null }[]>(
      `SELECT u.value::text AS value FROM unnest($1::${type}[]) WITH ORDINALITY AS u(value, i) ORDER BY i`,
      [literal],
    )).map((row) => row.value);
  assert.deepEqual(await read(arrayLiteral(texts), "text"), texts);
  assert.deepEqual(await read(arrayLiteral(numbers), "int8"), numbers.map(String));
  assert.deepEqual(await read(arrayLiteral(uuids), "uuid"), uuids);
  assert.deepEqual(await read(arrayLiteral([null, "a", "", null]), "text"), [null, "a", "", null]);
  assert.deepEqual(await read(arrayLiteral([1, null, -3]), "int8"), ["1", null, "-3"]);
  // Only plain texts: the path of one join.
  const plain = ["a", "", "NULL", "x y", "{,}"];
  assert.deepEqual(await read(arrayLiteral(plain), "text"), plain);
});
