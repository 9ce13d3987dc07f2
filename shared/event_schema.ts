/**
 * The canonical event's fields, in wire order: one list that the zod schema,
 * the consumer's fast reader (`event_fast.ts`), the producer's JSON writer and
 * the field table of `docs/message-format.md` are all made from. A field added
 * here is checked, read, written and documented; `event_schema_test.ts` fails
 * when a field lacks test values. Pure.
 */
import { z } from "zod";

/** The version of the canonical event written by our producers. */
export const EVENT_VERSION = 1;

/** User and session ids: 1-64 characters of a safe alphabet (no quoting needed anywhere). */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;
/** Event types: lowercase identifiers of at most 32 characters. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
/** Pages: a path starting with / of at most 256 printable ASCII characters. */
export const PAGE_PATTERN = /^\/[\x21-\x7e]{0,255}$/;
const UUID_PATTERN = z.regexes.uuid();
const OFFSET_DATETIME_PATTERN = z.regexes.datetime({ offset: true });

/** Limits of `properties`. */
export const PROPERTY_LIMITS = { count: 16, keyLength: 64, stringLength: 256 } as const;

/** What an id allows, in words. */
export const SAFE_ID_ALLOWED = "1-64 characters from A-Z a-z 0-9 _ . : @ -";
/** What an event type allows, in words. */
export const EVENT_TYPE_ALLOWED = "a lowercase identifier of at most 32 characters (a-z 0-9 _)";

/** A field of a message shape: its name, its check and what it allows. */
export interface FieldSpec<N extends string = string, S extends z.ZodType = z.ZodType> {
  /** The JSON key. */
  readonly name: N;
  /** The JSON type, as the docs name it. */
  readonly type: string;
  /** What is allowed, in words: rejection details and the docs say it. */
  readonly allowed: string;
  /** The check; a shape's schema is made of these (optional when it accepts `undefined`). */
  readonly schema: S;
  /** For an object field: what its keys and values allow, in words. */
  readonly entries?: { readonly key: string; readonly value: string };
}

/** One field of the canonical event: its check, its fast reader and how it is written. */
export interface EventField<N extends string = string, S extends z.ZodType = z.ZodType>
  extends FieldSpec<N, S> {
  /**
   * What `schema` outputs for `value` when `value` is plainly valid, or `undefined` whenever in
   * doubt (the schema then decides). Never accepts what `schema` rejects.
   */
  readonly read: (value: unknown) => z.output<S> | undefined;
  /** How the producer's writer puts it in JSON: between quotes (never escaped) or as raw JSON. */
  readonly json: "string" | "raw";
}

function field<N extends string, S extends z.ZodType>(spec: EventField<N, S>): EventField<N, S> {
  return spec;
}

/** A string field checked by one pattern, in the schema and in the fast reader alike. */
function patternField<N extends string>(name: N, pattern: RegExp, allowed: string) {
  return field({
    name,
    type: "string",
    allowed,
    schema: z.string().regex(pattern),
    read: (value) => typeof value === "string" && pattern.test(value) ? value : undefined,
    json: "string",
  });
}

const propertyValue = z.union([
  z.string().max(PROPERTY_LIMITS.stringLength),
  z.number(),
  z.boolean(),
  z.null(),
]);

/** The canonical event's fields in the order producers write them. */
export const EVENT_FIELDS = [
  field({
    name: "version",
    type: "integer",
    allowed: `${EVENT_VERSION}`,
    schema: z.literal(EVENT_VERSION),
    read: (value) => value === EVENT_VERSION ? EVENT_VERSION : undefined,
    json: "raw",
  }),
  patternField(
    "event_id",
    UUID_PATTERN,
    "a UUID (8-4-4-4-12 hex digits: version 1-8 with the RFC 9562 variant, or the nil or max " +
      "UUID), unique per event",
  ),
  patternField("user_id", SAFE_ID_PATTERN, SAFE_ID_ALLOWED),
  patternField("session_id", SAFE_ID_PATTERN, SAFE_ID_ALLOWED),
  patternField("event_type", EVENT_TYPE_PATTERN, EVENT_TYPE_ALLOWED),
  field({
    name: "occurred_at",
    type: "string",
    allowed: "an ISO 8601 date-time with an offset (Z or ±hh:mm), such as " +
      '"2026-06-01T11:59:00.250Z"; stored as UTC with millisecond precision',
    schema: z.string().regex(OFFSET_DATETIME_PATTERN).transform(toUtcIso),
    read: (value) => {
      if (typeof value !== "string" || !OFFSET_DATETIME_PATTERN.test(value)) return undefined;
      // Already in toISOString's own form (what our producers write): nothing to normalise.
      if (value.length === 24 && value[19] === "." && value[23] === "Z") return value;
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
    },
    json: "string",
  }),
  patternField(
    "page",
    PAGE_PATTERN,
    "a path starting with / of at most 256 printable ASCII characters (no spaces)",
  ),
  field({
    name: "properties",
    type: "object",
    allowed: `an object of at most ${PROPERTY_LIMITS.count} properties`,
    schema: z.record(z.string().max(PROPERTY_LIMITS.keyLength), propertyValue)
      .refine((value) => Object.keys(value).length <= PROPERTY_LIMITS.count)
      .optional(),
    read: readProperties,
    json: "raw",
    entries: {
      key: `at most ${PROPERTY_LIMITS.keyLength} characters`,
      value: `a string of at most ${PROPERTY_LIMITS.stringLength} characters, ` +
        "a number, true, false or null",
    },
  }),
] as const;

/** The name of a field of the canonical event. */
export type EventFieldName = typeof EVENT_FIELDS[number]["name"];

/** Zod schema of the canonical event; `occurred_at` is normalised to UTC. */
export const activityEventSchema = z.strictObject(shapeOf(EVENT_FIELDS));

/** The canonical event as producers write it and the consumer counts it. */
export type ActivityEvent = z.output<typeof activityEventSchema>;

/** The zod shape of a list of fields: each name with its schema. */
export type ShapeOf<F extends readonly FieldSpec[]> = {
  [S in F[number] as S["name"]]: S["schema"];
};

/** The zod shape of a list of fields. */
export function shapeOf<const F extends readonly FieldSpec[]>(fields: F): ShapeOf<F> {
  return Object.fromEntries(fields.map((spec) => [spec.name, spec.schema])) as ShapeOf<F>;
}

/** Whether a field must be present (its schema refuses `undefined`). */
export function isRequired(spec: Pick<FieldSpec, "schema">): boolean {
  return !spec.schema.safeParse(undefined).success;
}

/** An ISO 8601 date-time with an offset as `toISOString` writes it (UTC, milliseconds). */
export function toUtcIso(value: string): string {
  return new Date(Date.parse(value)).toISOString();
}

/**
 * The epoch milliseconds of a date-time in `toISOString`'s own form (what `toUtcIso` and our
 * producers write), by arithmetic: half the time of `Date.parse`, which takes any other form.
 */
export function utcIsoMs(iso: string): number {
  if (iso.length !== 24 || iso[10] !== "T" || iso[19] !== "." || iso[23] !== "Z") {
    return Date.parse(iso);
  }
  const days = daysFromCivil(digits(iso, 0, 4), digits(iso, 5, 2), digits(iso, 8, 2));
  const ms = days * 86_400_000 + digits(iso, 11, 2) * 3_600_000 + digits(iso, 14, 2) * 60_000 +
    digits(iso, 17, 2) * 1000 + digits(iso, 20, 3);
  return Number.isNaN(ms) ? Date.parse(iso) : ms;
}

/** The number `count` decimal digits at `start` spell, or NaN if any is not a digit. */
export function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return value;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
    dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** `value` itself when it is a plain object within the limits of `properties`. */
function readProperties(
  value: unknown,
): Record<string, string | number | boolean | null> | undefined {
  if (
    typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return undefined;
  }
  let count = 0;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (
      ++count > PROPERTY_LIMITS.count || key.length > PROPERTY_LIMITS.keyLength ||
      key === "__proto__" || !Object.hasOwn(value, key) ||
      !(item === null || typeof item === "boolean" ||
        (typeof item === "number" && Number.isFinite(item)) ||
        (typeof item === "string" && item.length <= PROPERTY_LIMITS.stringLength))
    ) {
      return undefined;
    }
  }
  return value as Record<string, string | number | boolean | null>;
}
