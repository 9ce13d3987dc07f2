/**
 * A small Prometheus registry (counters, gauges, histograms with labels) that
 * renders the text exposition format. Pure; the HTTP edge is in `http.ts`.
 */

type LabelValues = Readonly<Record<string, string>>;

interface Series {
  readonly labels: LabelValues;
  value: number;
}

interface HistogramSeries {
  readonly labels: LabelValues;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A value that only goes up. */
export interface Counter {
  /** Adds `amount` (default 1) to the series with `labels`. */
  inc(labels?: LabelValues, amount?: number): void;
  /** The current value of a series (for progress lines and tests). */
  get(labels?: LabelValues): number;
}

/** A value that goes up and down. */
export interface Gauge {
  /** Sets the series with `labels` to `value`. */
  set(labels: LabelValues, value: number): void;
  /** The current value of a series. */
  get(labels?: LabelValues): number;
}

/** Observations counted into buckets. */
export interface Histogram {
  /** Records one observation. */
  observe(value: number, labels?: LabelValues): void;
  /** Records `count` observations of the same value at once (no per-observation loop). */
  observeMany(value: number, count: number, labels?: LabelValues): void;
  /** How many observations have been recorded for `labels`. */
  count(labels?: LabelValues): number;
}

/** Holds metrics and renders them as Prometheus text. */
export class MetricsRegistry {
  #renderers: (() => string)[] = [];

  /** Registers a counter. */
  counter(name: string, help: string): Counter {
    const series = new Map<string, Series>();
    this.#renderers.push(() => renderSimple(name, help, "counter", series));
    return {
      inc(labels = {}, amount = 1) {
        seriesFor(series, labels).value += amount;
      },
      get: (labels = {}) => series.get(labelKey(labels))?.value ?? 0,
    };
  }

  /** Registers a gauge. */
  gauge(name: string, help: string): Gauge {
    const series = new Map<string, Series>();
    this.#renderers.push(() => renderSimple(name, help, "gauge", series));
    return {
      set(labels, value) {
        seriesFor(series, labels).value = value;
      },
      get: (labels = {}) => series.get(labelKey(labels))?.value ?? 0,
    };
  }

  /** Registers a histogram with upper bucket bounds (ascending; +Inf is added). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const series = new Map<string, HistogramSeries>();
    this.#renderers.push(() => renderHistogram(name, help, buckets, series));
    const observeMany = (value: number, count: number, labels: LabelValues = {}) => {
      const key = labelKey(labels);
      let entry = series.get(key);
      if (!entry) {
        entry = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
        series.set(key, entry);
      }
      for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]) entry.counts[i] += count;
      entry.sum += value * count;
      entry.count += count;
    };
    return {
      observe: (value, labels) => observeMany(value, 1, labels),
      observeMany,
      count: (labels = {}) => series.get(labelKey(labels))?.count ?? 0,
    };
  }

  /** The Prometheus text exposition of every registered metric. */
  render(): string {
    return this.#renderers.map((render) => render()).join("");
  }
}

function seriesFor(series: Map<string, Series>, labels: LabelValues): Series {
  const key = labelKey(labels);
  let entry = series.get(key);
  if (!entry) {
    entry = { labels, value: 0 };
    series.set(key, entry);
  }
  return entry;
}

function labelKey(labels: LabelValues): string {
  return formatLabels(labels);
}

function formatLabels(labels: LabelValues, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  return `{${
    pairs.map(([key, value]) =>
      `${key}="${value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`
    ).join(",")
  }}`;
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

function renderSimple(
  name: string,
  help: string,
  type: string,
  series: Map<string, Series>,
): string {
  let text = header(name, help, type);
  for (const entry of series.values()) {
    text += `${name}${formatLabels(entry.labels)} ${entry.value}\n`;
  }
  return text;
}

function renderHistogram(
  name: string,
  help: string,
  buckets: readonly number[],
  series: Map<string, HistogramSeries>,
): string {
  let text = header(name, help, "histogram");
  for (const entry of series.values()) {
    buckets.forEach((bound, i) => {
      text += `${name}_bucket${formatLabels(entry.labels, ["le", String(bound)])} ${
        entry.counts[i]
      }\n`;
    });
    text += `${name}_bucket${formatLabels(entry.labels, ["le", "+Inf"])} ${entry.count}\n`;
    text += `${name}_sum${formatLabels(entry.labels)} ${entry.sum}\n`;
    text += `${name}_count${formatLabels(entry.labels)} ${entry.count}\n`;
  }
  return text;
}
