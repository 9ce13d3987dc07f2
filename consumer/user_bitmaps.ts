/**
 * The users of each minute as bitmaps, pure: user number n is bit n % 4096 of
 * chunk n / 4096 (sql/0005). Built in the consumer from the flush's counts and
 * the users' numbers, so PostgreSQL only ORs a few bitmaps per minute into its
 * rows instead of building one from every (minute, user) pair.
 */
import type { CountColumns } from "./flush_plan.ts";

/** Users per bitmap chunk. */
export const CHUNK_USERS = 4096;

/** Minute bitmaps as the flush statement's columns: one entry per (minute, chunk). */
export interface MinuteBitmapColumns {
  /** Epoch seconds. */
  readonly minutes: number[];
  readonly chunks: number[];
  /** The chunk's 4096 bits, most significant first, as hexadecimal (PostgreSQL's `x'…'`). */
  readonly bits: string[];
}

/** Every user of `counts` must have a number in `numberOf`. */
export function minuteBitmaps(
  counts: CountColumns,
  numberOf: ReadonlyMap<string, number>,
): MinuteBitmapColumns {
  const byMinute = new Map<number, Map<number, Uint8Array>>();
  for (let i = 0; i < counts.users.length; i++) {
    const number = numberOf.get(counts.users[i]);
    if (number === undefined) {
      throw new Error(`user ${JSON.stringify(counts.users[i])} has no number`);
    }
    let chunks = byMinute.get(counts.minutes[i]);
    if (chunks === undefined) byMinute.set(counts.minutes[i], chunks = new Map());
    const chunk = Math.floor(number / CHUNK_USERS);
    let bytes = chunks.get(chunk);
    if (bytes === undefined) chunks.set(chunk, bytes = new Uint8Array(CHUNK_USERS / 8));
    const bit = number % CHUNK_USERS;
    bytes[bit >> 3] |= 0x80 >> (bit & 7);
  }
  const columns: MinuteBitmapColumns = { minutes: [], chunks: [], bits: [] };
  for (const [minute, chunks] of [...byMinute].sort((a, b) => a[0] - b[0])) {
    for (const [chunk, bytes] of [...chunks].sort((a, b) => a[0] - b[0])) {
      columns.minutes.push(minute);
      columns.chunks.push(chunk);
      columns.bits.push(hex(bytes));
    }
  }
  return columns;
}

/** The distinct users of `counts`. */
export function usersOf(counts: CountColumns): Set<string> {
  return new Set(counts.users);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += HEX[byte];
  return text;
}
