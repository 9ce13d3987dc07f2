/**
 * The user-activity simulator. Users (Zipf-skewed) act in sessions: a session
 * starts with a view of a landing page, continues with views, scrolls and
 * clicks on pages of the catalogue, and ends after its planned number of
 * events or when its user stays idle past the session timeout. Events arrive
 * as a Poisson process around the target rate. Pure and deterministic: the
 * same settings (seed included) give the same messages, ids included.
 */
import type { RejectReason } from "@activity/shared";
import { type Arrivals, type Burst, createArrivals } from "./arrivals.ts";
import { entryPage, nextPage, PAGES, propertiesJson } from "./catalogue.ts";
import { createIsoFormatter, eventJson, eventParts, PART } from "./event_json.ts";
import type { EventMix } from "./event_mix.ts";
import { MALFORMED_KINDS, malformedValue } from "./malformed.ts";
import { createPopulation, type Population } from "./population.ts";
import { Random, randomHex64, randomUuid } from "./random.ts";

/** What a simulation needs to know. */
export interface SimulationSettings {
  readonly seed: number;
  readonly users: number;
  /** The Zipf exponent of user activity (0 = uniform). */
  readonly userSkew: number;
  readonly mix: EventMix;
  /** Events per second of the send schedule (`next()`); unused by `nextAt()`. */
  readonly ratePerSecond: number;
  readonly burst?: Burst;
  /** The simulated clock: `occurred_at` = `startMs` + `speed` × time on the schedule. */
  readonly startMs: number;
  readonly speed: number;
  /** The share of messages replaced by a malformed one, in [0, 1]. */
  readonly invalidRatio: number;
  /** Simulated idle time after which a user's next event starts a new session (default 30 min). */
  readonly sessionTimeoutMs?: number;
  /** Mean planned events per session (default 12). */
  readonly meanSessionEvents?: number;
}

/** One message to publish, with what it says in plain fields. */
export interface SimulatedMessage {
  /** The message key: the user id. */
  readonly key: string;
  /** The value: the event's JSON text, or the bytes or text of a malformed message. */
  readonly value: string | Uint8Array;
  /** Position on the send schedule, in milliseconds since the start (`NaN` from `nextAt`). */
  readonly scheduledMs: number;
  readonly occurredAtMs: number;
  readonly eventId: string;
  readonly sessionId: string;
  readonly eventType: string;
  /** The index of `eventType` in the mix. */
  readonly typeIndex: number;
  readonly page: string;
  /** True for the first event of a session. */
  readonly sessionStart: boolean;
  /** Why the consumer will reject this message, when it is an injected malformed one. */
  readonly malformed?: RejectReason;
}

/** A deterministic stream of messages. */
export interface Simulation extends Iterable<SimulatedMessage> {
  readonly population: Population;
  /** The next message, at its time on the schedule. */
  next(): SimulatedMessage;
  /** The next message, stamped `occurredAtMs` (for unpaced runs on a running clock). */
  nextAt(occurredAtMs: number): SimulatedMessage;
}

const DEFAULT_SESSION_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_MEAN_SESSION_EVENTS = 12;
/** Weight of the newest event in the running share of session starts (about the last 1000 events). */
const START_SHARE_WEIGHT = 1 / 1000;

/** Creates a simulation; everything it yields follows from `settings`. */
export function createSimulation(settings: SimulationSettings): Simulation {
  // Independent streams, so that e.g. the invalid ratio does not change which users act.
  const arrivalsRandom = new Random(settings.seed, 1);
  const behaviour = new Random(settings.seed, 2);
  const ids = new Random(settings.seed, 3);
  const injection = new Random(settings.seed, 4);
  const population = createPopulation({
    users: settings.users,
    skew: settings.userSkew,
    random: new Random(settings.seed, 5),
  });
  const arrivals: Arrivals = createArrivals({
    ratePerSecond: settings.ratePerSecond,
    burst: settings.burst,
    random: arrivalsRandom,
  });
  const sessions = createSessions(settings, population, behaviour, ids);
  const iso = createIsoFormatter();
  let injected = 0;

  // Filled anew for every event (no allocation); the JSON builders only read it.
  const parts = eventParts({});

  const emit = (scheduledMs: number, occurredAtMs: number): SimulatedMessage => {
    const step = sessions.step(occurredAtMs);
    const eventId = randomUuid(ids);
    const page = PAGES[step.page];
    parts[PART.event_id] = eventId;
    parts[PART.user_id] = step.userId;
    parts[PART.session_id] = step.sessionId;
    parts[PART.event_type] = step.eventType;
    parts[PART.occurred_at] = iso(occurredAtMs);
    parts[PART.page] = page;
    parts[PART.properties] = propertiesJson(step.eventType, step.sessionStart, behaviour);
    let value: string | Uint8Array;
    let malformed: RejectReason | undefined;
    if (settings.invalidRatio > 0 && injection.float() < settings.invalidRatio) {
      malformed = MALFORMED_KINDS[injected++ % MALFORMED_KINDS.length];
      value = malformedValue(malformed, parts, occurredAtMs, injection);
    } else {
      value = eventJson(parts);
    }
    return {
      key: step.userId,
      value,
      scheduledMs,
      occurredAtMs,
      eventId,
      sessionId: step.sessionId,
      eventType: step.eventType,
      typeIndex: step.typeIndex,
      page,
      sessionStart: step.sessionStart,
      malformed,
    };
  };

  return {
    population,
    next() {
      const scheduledMs = arrivals.next();
      return emit(scheduledMs, Math.floor(settings.startMs + settings.speed * scheduledMs));
    },
    nextAt(occurredAtMs: number) {
      return emit(NaN, Math.floor(occurredAtMs));
    },
    *[Symbol.iterator]() {
      for (;;) yield this.next();
    },
  };
}

/** What a user did; one object, overwritten by every step. */
interface SessionStep {
  userId: string;
  sessionId: string;
  eventType: string;
  typeIndex: number;
  page: number;
  sessionStart: boolean;
}

/** Per-user session state, in flat arrays (a million users stay cheap). */
function createSessions(
  settings: SimulationSettings,
  population: Population,
  behaviour: Random,
  ids: Random,
) {
  const timeoutMs = settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const meanEvents = settings.meanSessionEvents ?? DEFAULT_MEAN_SESSION_EVENTS;
  const remaining = new Int32Array(settings.users);
  const lastAt = new Float64Array(settings.users);
  const page = new Uint16Array(settings.users);
  const sessionIds: string[] = new Array(settings.users).fill("");
  const continuation = createContinuationTypes(settings.mix);
  const viewIndex = settings.mix.types.indexOf("view");
  // The recent share of session starts, as an exponentially weighted average.
  let startShare = 1 / meanEvents;
  const step: SessionStep = {
    userId: "",
    sessionId: "",
    eventType: "",
    typeIndex: 0,
    page: 0,
    sessionStart: false,
  };

  return {
    step(atMs: number): SessionStep {
      const user = population.pick(behaviour);
      const idle = atMs - lastAt[user] > timeoutMs;
      lastAt[user] = atMs;
      const start = remaining[user] === 0 || idle;
      let typeIndex = viewIndex;
      if (start) {
        startShare += (1 - startShare) * START_SHARE_WEIGHT;
        remaining[user] = behaviour.geometric(meanEvents) - 1;
        page[user] = entryPage(behaviour);
        sessionIds[user] = "s_" + randomHex64(ids);
      } else {
        remaining[user]--;
        startShare -= startShare * START_SHARE_WEIGHT;
        typeIndex = continuation.pick(behaviour, startShare);
        if (typeIndex === viewIndex) page[user] = nextPage(page[user], behaviour);
      }
      step.userId = population.ids[user];
      step.sessionId = sessionIds[user];
      step.eventType = settings.mix.types[typeIndex];
      step.typeIndex = typeIndex;
      step.page = page[user];
      step.sessionStart = start;
      return step;
    },
  };
}

/**
 * Chooses the type of an event inside a session so that, together with the
 * views that start sessions, the overall mix is the configured one: views
 * inside sessions make up what session starts do not. `startShare` is the
 * current share of session starts; while it exceeds the view share (few,
 * rarely active users) views are over-represented.
 */
function createContinuationTypes(mix: EventMix) {
  const viewIndex = mix.types.indexOf("view");
  const viewShare = mix.shares[viewIndex];
  const others = mix.types.map((_, i) => i).filter((i) => i !== viewIndex);
  const otherTotal = 1 - viewShare;
  let running = 0;
  const cumulative = others.map((i) => (running += mix.shares[i] / otherTotal));
  return {
    pick(random: Random, startShare: number): number {
      const u = random.float();
      if (others.length === 0) return viewIndex;
      const viewChance = startShare >= viewShare ? 0 : (viewShare - startShare) / (1 - startShare);
      if (u < viewChance) return viewIndex;
      const v = (u - viewChance) / (1 - viewChance);
      for (let i = 0; i < others.length - 1; i++) if (v < cumulative[i]) return others[i];
      return others[others.length - 1];
    },
  };
}
