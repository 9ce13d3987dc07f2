/**
 * The consumer's store on a migrated database of a test's own, for tests of
 * what its flush statement writes and refuses, without Kafka.
 */
import { migrate } from "../consumer/mod.ts";
import { openStore, type Store } from "../consumer/store.ts";
import { createTestDatabase, type TestDatabase } from "./services.ts";

/**
 * Runs `use` with a store on a migrated database of its own (and the database, to read it
 * back); the store is closed and the database dropped afterwards, whatever happened.
 */
export async function withStore<T>(
  prefix: string,
  use: (store: Store, db: TestDatabase) => Promise<T>,
): Promise<T> {
  await using db = await createTestDatabase(prefix);
  await migrate(db.url);
  const store = openStore(db.url);
  try {
    return await use(store, db);
  } finally {
    await store.close();
  }
}
