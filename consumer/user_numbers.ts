/**
 * Users' permanent numbers (sql/0005), looked up and assigned outside the
 * flush statement and remembered: a number never changes once given, so the
 * cache is always right, and one given for a flush that then fails is simply
 * kept for the user's next one.
 */
import type postgres from "postgres";

/** How many numbers are remembered before the memory is emptied. */
const MAX_REMEMBERED = 500_000;

/** Users' numbers, from PostgreSQL, remembered. */
export interface UserNumbers {
  /** Numbers for every user of `users`; assigns the missing ones. Reports how many were new. */
  numbersFor(users: Iterable<string>): Promise<{ numbers: Map<string, number>; assigned: number }>;
}

/** Options of `userNumbers`. */
export interface UserNumbersOptions {
  /** How many numbers are remembered before the memory is emptied (default 500 000). */
  readonly maxRemembered?: number;
}

/** Numbers read from and assigned in the database of `sql`. */
export function userNumbers(sql: postgres.Sql, options: UserNumbersOptions = {}): UserNumbers {
  const maxRemembered = options.maxRemembered ?? MAX_REMEMBERED;
  let known = new Map<string, number>();
  return {
    async numbersFor(users) {
      // The known numbers are taken before any wait: a call that finishes meanwhile may empty
      // the memory.
      const numbers = new Map<string, number>();
      const missing: string[] = [];
      for (const user of users) {
        const number = known.get(user);
        if (number === undefined) missing.push(user);
        else numbers.set(user, number);
      }
      let assigned = 0;
      if (missing.length > 0) {
        // Sorted, so consumers numbering the same new users lock them in one order.
        missing.sort();
        const inserted = await sql`INSERT INTO user_numbers (user_id)
          SELECT unnest(${missing}::text[]) ORDER BY 1
          ON CONFLICT (user_id) DO NOTHING`;
        assigned = inserted.count;
        const rows = await sql<{ user_id: string; user_number: number }[]>`
          SELECT user_id, user_number FROM user_numbers WHERE user_id = ANY(${missing}::text[])`;
        for (const row of rows) {
          known.set(row.user_id, row.user_number);
          numbers.set(row.user_id, row.user_number);
        }
      }
      // Emptied only once this call's numbers are taken, and refilled with them (the likeliest
      // users of the next flush): emptied before, the users known already would have none.
      if (known.size > maxRemembered) known = new Map(numbers);
      return { numbers, assigned };
    },
  };
}
