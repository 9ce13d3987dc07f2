/**
 * A small seeded random generator (sfc32) and what the simulation draws from
 * it. Pure and fast: the simulation takes several numbers per event, so no
 * allocation per draw and no `Math.random`.
 */

/** A deterministic stream of random numbers. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A stream for `seed`; different `stream` numbers give independent streams from one seed. */
  constructor(seed: number, stream = 0) {
    // Hash (seed low bits, seed high bits, stream) into one word, then let
    // splitmix32 spread it over the 128-bit state.
    const low = Math.floor(seed) >>> 0;
    const high = Math.floor(seed / 0x100000000) >>> 0;
    let x = hash32(low ^ hash32(high ^ hash32(stream ^ 0x9e3779b9)));
    const mix = () => {
      x = (x + 0x9e3779b9) >>> 0;
      return hash32(x);
    };
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed whole number in [0, 2^32). */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniformly distributed number in [0, 1). */
  float(): number {
    return this.uint32() / 0x100000000;
  }

  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An exponentially distributed number with mean 1. */
  exponential(): number {
    return -Math.log(1 - this.float());
  }

  /** A number of trials until the first success, at least 1, with the given mean (≥ 1). */
  geometric(mean: number): number {
    if (mean <= 1) return 1;
    return 1 + Math.floor(Math.log(1 - this.float()) / Math.log(1 - 1 / mean));
  }
}

/** The murmur3 32-bit finaliser: every input bit affects every output bit. */
function hash32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

function hex32(value: number): string {
  return HEX[value >>> 24] + HEX[(value >>> 16) & 255] + HEX[(value >>> 8) & 255] +
    HEX[value & 255];
}

function hex16(value: number): string {
  return HEX[(value >>> 8) & 255] + HEX[value & 255];
}

/** A version-4-shaped UUID whose 122 random bits come from `random`. */
export function randomUuid(random: Random): string {
  const a = random.uint32();
  const b = random.uint32();
  const c = random.uint32();
  const d = random.uint32();
  return hex32(a) + "-" + hex16(b >>> 16) + "-" + hex16((b & 0x0fff) | 0x4000) + "-" +
    hex16(((c >>> 16) & 0x3fff) | 0x8000) + "-" + hex16(c) + hex32(d);
}

/** Sixteen random hexadecimal digits. */
export function randomHex64(random: Random): string {
  return hex32(random.uint32()) + hex32(random.uint32());
}
