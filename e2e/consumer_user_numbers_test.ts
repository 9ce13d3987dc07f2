/** Users' permanent numbers as the consumer assigns and remembers them, in a real PostgreSQL. */
import assert from "node:assert/strict";
import { migrate } from "@activity/consumer";
import { userNumbers } from "../consumer/user_numbers.ts";
import { createTestDatabase } from "../testing/mod.ts";

Deno.test("users known before a call that fills the memory past its limit keep their numbers", async () => {
  await using db = await createTestDatabase("user_numbers");
  await migrate(db.url);
  const numbers = userNumbers(db.sql, { maxRemembered: 3 });
  const stored = async () =>
    new Map(
      (await db.sql<{ user_id: string; user_number: number }[]>`
        SELECT user_id, user_number FROM user_numbers`).map((
        row,
      ) => [row.user_id, row.user_number]),
    );
  const first = await numbers.numbersFor(["a", "b"]);
  assert.equal(first.assigned, 2);
  // Two known and two new users: four, past the limit of three.
  for (const users of [["a", "b", "c", "d"], ["b", "e"], ["a", "c", "e", "f", "g"]]) {
    const found = await numbers.numbersFor(users);
    const table = await stored();
    assert.deepEqual(
      [...found.numbers].sort(),
      users.map((user) => [user, table.get(user)]),
      `every user of ${users.join(",")} has its number`,
    );
    assert.ok([...found.numbers.values()].every((n) => Number.isInteger(n)));
  }
  assert.equal((await stored()).size, 7, "each user numbered once");
});

Deno.test("a call waiting on PostgreSQL keeps its known users' numbers when another call empties the memory", async () => {
  await using db = await createTestDatabase("user_numbers_concurrent");
  await migrate(db.url);
  const numbers = userNumbers(db.sql, { maxRemembered: 3 });
  await numbers.numbersFor(["a", "b"]);
  // Another transaction inserts c and holds it, so the first call (a and b known, c new) waits
  // on c's row lock while the second call fills the memory past its limit and empties it.
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  let insertedC!: () => void;
  const cInserted = new Promise<void>((resolve) => insertedC = resolve);
  const holder = db.sql.begin(async (tx) => {
    await tx`INSERT INTO user_numbers (user_id) VALUES ('c')`;
    insertedC();
    await held;
  });
  await cInserted;
  const waiting = numbers.numbersFor(["a", "b", "c"]);
  const second = await numbers.numbersFor(["d", "e", "f", "g"]);
  release();
  await holder;
  const first = await waiting;
  const table = new Map(
    (await db.sql<{ user_id: string; user_number: number }[]>`
      SELECT user_id, user_number FROM user_numbers`).map((row) => [row.user_id, row.user_number]),
  );
  assert.deepEqual([...first.numbers].sort(), ["a", "b", "c"].map((u) => [u, table.get(u)]));
  assert.deepEqual([...second.numbers].sort(), ["d", "e", "f", "g"].map((u) => [u, table.get(u)]));
});
