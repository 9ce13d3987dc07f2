/**
 * The canonical event's JSON text built by concatenation, byte for byte what
 * the shared `encode` writes (`JSON.stringify` of the event with the schema's
 * field order), without building an object per event. The fields, their order
 * and how each is written come from the shared `EVENT_FIELDS`, so a field the
 * schema gains is written too. Every string part comes from a safe alphabet
 * (hex ids, `user_N`, lowercase type names, catalogue pages), so nothing
 * needs escaping. Pure.
 */
import { EVENT_FIELDS, EVENT_VERSION, type EventFieldName, isRequired } from "@activity/shared";

/**
 * The text of each field of one event, at its position in `EVENT_FIELDS`
 * (`PART.user_id` and so on): a string field's characters (written between
 * quotes, never escaped) or a raw field's JSON text (`version`, `properties`);
 * "" leaves an optional field out. An array, not an object keyed by name: the
 * writer reads it by position, which kept it as fast as a hand-written one.
 */
export type EventParts = string[];

/** Named field texts, for building and changing `EventParts`. */
export type NamedParts = { readonly [K in EventFieldName]?: string };

/** The position of each field in `EventParts`. */
export const PART: { readonly [K in EventFieldName]: number } = Object.fromEntries(
  EVENT_FIELDS.map((spec, i) => [spec.name, i]),
) as { [K in EventFieldName]: number };

const COUNT = EVENT_FIELDS.length;
const OPTIONAL: readonly boolean[] = EVENT_FIELDS.map((spec) => !isRequired(spec));
const QUOTED: readonly boolean[] = EVENT_FIELDS.map((spec) => spec.json === "string");
/** `"name":` of each field, then the opening quote of a string field. */
const HEADS: readonly string[] = EVENT_FIELDS.map((spec) =>
  JSON.stringify(spec.name) + ":" + (spec.json === "string" ? '"' : "")
);
// What goes before a field's text, as one string each (fewer pieces make a faster string): the
// first field opens the object, so it must always be there.
if (OPTIONAL[0]) {
  throw new Error(`the first event field, ${EVENT_FIELDS[0].name}, must be required`);
}
const AFTER_RAW: readonly string[] = HEADS.map((head, i) => flat((i === 0 ? "{" : ",") + head));
const AFTER_QUOTED: readonly string[] = AFTER_RAW.map((glue) => flat('"' + glue));

/**
 * `text` as one flat string: a string joined at run time is a tree of pieces, which every
 * event's text would otherwise carry along (measured: a fifth of the writer's time).
 */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text));
}

/** Parts from named texts: `version` is the canonical version unless given, other fields "". */
export function eventParts(named: NamedParts): EventParts {
  return withParts(
    EVENT_FIELDS.map((spec) => spec.name === "version" ? String(EVENT_VERSION) : ""),
    named,
  );
}

/** A copy of `parts` with the named fields' texts replaced. */
export function withParts(parts: readonly string[], named: NamedParts): EventParts {
  const copy = [...parts];
  for (const [name, text] of Object.entries(named)) {
    if (text !== undefined) copy[PART[name as EventFieldName]] = text;
  }
  return copy;
}

/** The JSON text of an event. */
export function eventJson(parts: readonly string[]): string {
  let text = "";
  let quoted = false;
  for (let i = 0; i < COUNT; i++) {
    const value = parts[i];
    if (value === "" && OPTIONAL[i]) continue;
    text += (quoted ? AFTER_QUOTED[i] : AFTER_RAW[i]) + value;
    quoted = QUOTED[i];
  }
  return text + (quoted ? '"}' : "}");
}

/** The JSON text of an event with the named fields' values given as raw JSON text instead. */
export function eventJsonWith(parts: readonly string[], raw: NamedParts): string {
  const members: string[] = [];
  EVENT_FIELDS.forEach((spec, i) => {
    const rawValue = raw[spec.name];
    if (rawValue !== undefined) members.push(`${JSON.stringify(spec.name)}:${rawValue}`);
    else if (parts[i] !== "" || !OPTIONAL[i]) {
      members.push(HEADS[i] + parts[i] + (QUOTED[i] ? '"' : ""));
    }
  });
  return `{${members.join(",")}}`;
}

const TWO_DIGITS: readonly string[] = Array.from(
  { length: 60 },
  (_, i) => String(i).padStart(2, "0"),
);
const THREE_DIGITS: readonly string[] = Array.from(
  { length: 1000 },
  (_, i) => String(i).padStart(3, "0"),
);

/**
 * A formatter equal to `new Date(ms).toISOString()` for whole milliseconds
 * from year 0 to 9999; it reuses the date part within a minute, which is what
 * consecutive events share.
 */
export function createIsoFormatter(): (epochMs: number) => string {
  let minuteStart = NaN;
  let prefix = "";
  return (epochMs: number) => {
    const offset = epochMs - minuteStart;
    if (!(offset >= 0 && offset < 60_000)) {
      minuteStart = epochMs - (((epochMs % 60_000) + 60_000) % 60_000);
      prefix = new Date(minuteStart).toISOString().slice(0, 17);
      return formatWithin(prefix, epochMs - minuteStart);
    }
    return formatWithin(prefix, offset);
  };
}

function formatWithin(prefix: string, offsetMs: number): string {
  const seconds = Math.floor(offsetMs / 1000);
  return prefix + TWO_DIGITS[seconds] + "." + THREE_DIGITS[offsetMs - seconds * 1000] + "Z";
}
