/**
 * What time range and interval Grafana's frontend sends with a panel's query: the dashboard's relative
 * range (or the panel's relative-time override) resolved against "now" in UTC, and `$__interval`
 * from the range, the panel width and its minimum interval. Pure; only the forms our dashboard uses.
 */
import { parseGrafanaInterval } from "./go_format.ts";

/** A resolved time range. */
export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
}

/** A relative expression could not be resolved. */
export class TimeRangeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TimeRangeError";
  }
}

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Resolves a Grafana date-math expression in UTC: `now`, `now-6h`, `now/d`, `now-1d/d`. Rounding
 * goes to the start of the unit, or to its last millisecond when `roundUp` (as for a range's end).
 */
export function resolveDateMath(expression: string, now: Date, roundUp = false): Date {
  const match = /^now(?:([-+])(\d+)([smhdw]))?(?:\/([smhd]))?$/.exec(expression);
  if (!match) {
    throw new TimeRangeError(
      `Cannot resolve time "${expression}": it must be now, now-<n><unit> (s m h d w) and/or ` +
        `/<unit> (s m h d; week starts depend on locale and are not supported)`,
    );
  }
  let ms = now.getTime();
  if (match[1]) ms += (match[1] === "-" ? -1 : 1) * Number(match[2]) * UNIT_MS[match[3]];
  if (match[4]) {
    const size = UNIT_MS[match[4]];
    const start = Math.floor(ms / size) * size;
    ms = roundUp ? start + size - 1 : start;
  }
  return new Date(ms);
}

/** The range of a panel: its relative-time override (`1h`, `now/d`) or else the dashboard's range. */
export function panelTimeRange(
  dashboardTime: { readonly from: string; readonly to: string },
  panelTimeFrom: string | undefined,
  now: Date,
): TimeRange {
  if (panelTimeFrom === undefined) {
    return {
      from: resolveDateMath(dashboardTime.from, now),
      to: resolveDateMath(dashboardTime.to, now, true),
    };
  }
  // As Grafana's describeTextRange: "1h" means "now-1h"; an override always ends at now.
  const from = panelTimeFrom.startsWith("now") ? panelTimeFrom : `now-${panelTimeFrom}`;
  return { from: resolveDateMath(from, now), to: now };
}

/** Grafana's `rangeUtil.roundInterval`: a raw interval snapped to a readable one, in ms. */
export function roundInterval(intervalMs: number): number {
  const steps: Array<[number, number]> = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1_500, 1_000],
    [3_500, 2_000],
    [7_500, 5_000],
    [12_500, 10_000],
    [17_500, 15_000],
    [25_000, 20_000],
    [45_000, 30_000],
    [90_000, 60_000],
    [210_000, 120_000],
    [450_000, 300_000],
    [750_000, 600_000],
    [1_050_000, 900_000],
    [1_500_000, 1_200_000],
    [2_700_000, 1_800_000],
    [5_400_000, 3_600_000],
    [9_000_000, 7_200_000],
    [16_200_000, 10_800_000],
    [32_400_000, 21_600_000],
    [86_400_000, 43_200_000],
    [604_800_000, 86_400_000],
    [1_814_400_000, 604_800_000],
    [3_628_800_000, 2_592_000_000],
  ];
  for (const [below, rounded] of steps) if (intervalMs < below) return rounded;
  return 31_536_000_000;
}

/** What `calculateInterval` needs besides the range. */
export interface IntervalOptions {
  /** Data points the panel asks for (its width in pixels unless set). */
  readonly maxDataPoints?: number;
  /** The panel's minimum interval (`interval`, e.g. `1m`). */
  readonly minInterval?: string;
}

/** `$__interval` in ms as Grafana's frontend computes it for a range. */
export function queryIntervalMs(range: TimeRange, options: IntervalOptions = {}): number {
  const { maxDataPoints = 1_000, minInterval } = options;
  const raw = roundInterval((range.to.getTime() - range.from.getTime()) / maxDataPoints);
  if (minInterval === undefined) return raw;
  const lowLimit = parseGrafanaInterval(minInterval);
  if (lowLimit === undefined) {
    throw new TimeRangeError(`Cannot use minimum interval "${minInterval}": it must be like 1m`);
  }
  return Math.max(raw, lowLimit);
}
