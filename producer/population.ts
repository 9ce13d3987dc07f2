/**
 * The simulated users and how often each one acts: a Zipf distribution over
 * activity ranks, so a few heavy users produce much of the traffic and a
 * long tail acts rarely, as on real sites. Pure.
 */
import type { Random } from "./random.ts";

/** The users of a simulation. */
export interface Population {
  /** User ids, indexed by activity rank (0 is the most active user). */
  readonly ids: readonly string[];
  /** The expected share of events of each rank (sums to 1). */
  readonly shares: Float64Array;
  /** Draws the rank of the user behind the next event. */
  pick(random: Random): number;
}

/**
 * Creates `users` users whose activity follows Zipf's law with exponent `skew`
 * (0 = everyone equally active, 1 = the classic web-traffic shape). Which user
 * number gets which rank is shuffled by `random`.
 */
export function createPopulation(
  options: { users: number; skew: number; random: Random },
): Population {
  const { users, skew, random } = options;
  const cumulative = new Float64Array(users);
  let total = 0;
  for (let rank = 0; rank < users; rank++) {
    total += 1 / Math.pow(rank + 1, skew);
    cumulative[rank] = total;
  }
  const shares = new Float64Array(users);
  for (let rank = 0; rank < users; rank++) shares[rank] = 1 / Math.pow(rank + 1, skew) / total;
  for (let rank = 0; rank < users; rank++) cumulative[rank] /= total;
  cumulative[users - 1] = 1;
  const numbers = shuffledNumbers(users, random);
  const ids = Array.from(numbers, (number) => `user_${number}`);
  return {
    ids,
    shares,
    pick(draw: Random): number {
      const u = draw.float();
      let low = 0;
      let high = users - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cumulative[middle] > u) high = middle;
        else low = middle + 1;
      }
      return low;
    },
  };
}

function shuffledNumbers(count: number, random: Random): Uint32Array {
  const numbers = new Uint32Array(count);
  for (let i = 0; i < count; i++) numbers[i] = i + 1;
  for (let i = count - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const swap = numbers[i];
    numbers[i] = numbers[j];
    numbers[j] = swap;
  }
  return numbers;
}
