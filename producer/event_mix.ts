/**
 * The event-type mix: which event types the producer emits and in what
 * proportions, read from text such as `view=5,scroll=3,click=2`. Pure.
 */
import { activityEventSchema } from "@activity/shared";

/** Event types and their shares of all valid events. */
export interface EventMix {
  /** The event types; always contains `view` (every session starts with one). */
  readonly types: readonly string[];
  /** The share of each type, summing to 1. */
  readonly shares: readonly number[];
}

/** The event type used for injected `unknown_event_type` messages; no mix may contain it. */
export const UNKNOWN_EVENT_TYPE = "unregistered_type";

/** What reading a mix produced: the mix, or why the text is not one. */
export type EventMixOutcome =
  | { readonly ok: true; readonly mix: EventMix }
  | { readonly ok: false; readonly problem: string };

const eventTypeSchema = activityEventSchema.shape.event_type;

/** Reads `type=weight,...`; weights are positive numbers, types lowercase identifiers. */
export function parseEventMix(text: string): EventMixOutcome {
  const types: string[] = [];
  const weights: number[] = [];
  for (const part of text.split(",")) {
    const match = /^\s*([^=\s]+)\s*=\s*([0-9]*\.?[0-9]+)\s*$/.exec(part);
    if (!match) return { ok: false, problem: `"${part.trim()}" is not type=weight` };
    const [, type, weightText] = match;
    if (!eventTypeSchema.safeParse(type).success) {
      return {
        ok: false,
        problem: `"${type}" is not a lowercase identifier of at most 32 characters`,
      };
    }
    if (type === UNKNOWN_EVENT_TYPE) {
      return { ok: false, problem: `"${type}" is reserved for injected malformed events` };
    }
    if (types.includes(type)) return { ok: false, problem: `"${type}" appears twice` };
    const weight = Number(weightText);
    if (!(weight > 0)) return { ok: false, problem: `the weight of "${type}" is not positive` };
    types.push(type);
    weights.push(weight);
  }
  if (!types.includes("view")) {
    return { ok: false, problem: "it has no view (every session starts with one)" };
  }
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return { ok: true, mix: { types, shares: weights.map((weight) => weight / total) } };
}

/** The mix as text, in the form `parseEventMix` reads (shares as percentages). */
export function formatEventMix(mix: EventMix): string {
  return mix.types.map((type, i) => `${type}=${Math.round(mix.shares[i] * 1000) / 10}`).join(",");
}
