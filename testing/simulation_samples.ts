/** Simulation settings for the producer's unit tests: a fixed start, seed and event mix. */
import { parseEventMix } from "../producer/event_mix.ts";
import type { SimulationSettings } from "../producer/simulation.ts";

/** The simulated clock's start in the producer's unit tests. */
export const SIMULATION_START: number = Date.parse("2026-06-01T00:00:00.000Z");

/** The event mix `spec` (e.g. "view=5,click=1"), which must be valid. */
export function eventMixOf(spec: string): SimulationSettings["mix"] {
  const outcome = parseEventMix(spec);
  if (!outcome.ok) throw new Error(outcome.problem);
  return outcome.mix;
}

/** Settings from `SIMULATION_START` at real speed, valid events only, with `overrides`. */
export function testSimulation(overrides: Partial<SimulationSettings> = {}): SimulationSettings {
  return {
    seed: 42,
    users: 1000,
    userSkew: 1,
    mix: eventMixOf("view=5,scroll=3,click=2"),
    ratePerSecond: 100,
    startMs: SIMULATION_START,
    speed: 1,
    invalidRatio: 0,
    ...overrides,
  };
}
