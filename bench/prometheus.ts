/** Reading figures back from Prometheus text (a program's `/metrics`); pure. */

/** Cumulative histogram buckets: upper bound → observations at or below it. */
export interface HistogramSnapshot {
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly count: number;
  readonly sum: number;
}

/** The histogram `name` in Prometheus text, summed over label sets (an empty one if absent). */
export function readHistogram(text: string, name: string): HistogramSnapshot {
  const byBound = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (le === undefined) continue;
      const bound = le === "+Inf" ? Infinity : Number(le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + value);
    } else if (line.startsWith(`${name}_count`)) {
      count += Number(line.slice(line.lastIndexOf(" ") + 1));
    } else if (line.startsWith(`${name}_sum`)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  const buckets = [...byBound.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({
    le,
    count: c,
  }));
  return { buckets, count, sum };
}

/** The observations between two snapshots of the same histogram. */
export function histogramDelta(
  before: HistogramSnapshot,
  after: HistogramSnapshot,
): HistogramSnapshot {
  const previous = new Map(before.buckets.map((bucket) => [bucket.le, bucket.count]));
  return {
    buckets: after.buckets.map((bucket) => ({
      le: bucket.le,
      count: bucket.count - (previous.get(bucket.le) ?? 0),
    })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The q-quantile (0–1) estimated the way Prometheus' `histogram_quantile`
 * does: linear interpolation inside the bucket that holds the rank.
 */
export function histogramQuantile(snapshot: HistogramSnapshot, q: number): number {
  const total = snapshot.buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of snapshot.buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket === 0
        ? bucket.le
        : lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** The value of a counter or gauge, summed over label sets matching `labels`. */
export function readValue(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ")) {
      continue;
    }
    if (Object.entries(labels).some(([key, value]) => !line.includes(`${key}="${value}"`))) {
      continue;
    }
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** The values of a counter or gauge per value of one of its labels (summed over the others). */
export function readValuesByLabel(
  text: string,
  name: string,
  label: string,
): Map<string, number> {
  const values = new Map<string, number>();
  const pattern = new RegExp(`[{,]${label}="([^"]*)"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const value = pattern.exec(line)?.[1];
    if (value === undefined) continue;
    values.set(value, (values.get(value) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return values;
}
