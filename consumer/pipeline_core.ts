/**
 * The consumer's decisions, pure: when to flush, when fetching must wait for
 * room, how long to back off after a failed flush, when a stopping consumer
 * gives up, and when it reports itself not ready — all from the time passed
 * in. The shell (`pipeline.ts`) does the I/O and asks these.
 */
import { backoffDelayMs, type ClassifiedFailure } from "./retry.ts";

/** The limits the core decides by. */
export interface CoreSettings {
  /** Flush once this many events are buffered. */
  readonly flushEvents: number;
  /** Flush at least this often while events are buffered. */
  readonly flushIntervalMs: number;
  /** Fetching waits while this many events are buffered. */
  readonly maxBufferEvents: number;
  /** Fetching waits while the buffer holds this many distinct rows to write (its memory). */
  readonly maxBufferKeys: number;
  /** Fetching waits while rejected messages of this many bytes (keys and values) are buffered. */
  readonly maxBufferedRejectedBytes: number;
  /** The flush interval while far behind. */
  readonly catchUpFlushIntervalMs: number;
  /** How long a stopping consumer keeps retrying its last flush. */
  readonly stopFlushDeadlineMs: number;
  /** After flushes have failed for this long, the consumer reports itself not ready. */
  readonly notReadyAfterFailingMs: number;
}

/** Default limits besides the ones users set. */
export const CORE_DEFAULTS = {
  /** Rejections keep their original bytes until flushed: bound them. */
  maxBufferedRejectedBytes: 32 * 1024 * 1024,
  catchUpFlushIntervalMs: 5_000,
} as const;

/** Flushes that keep failing. */
export interface FailingFlushes {
  readonly sinceMs: number;
  attempts: number;
  last: ClassifiedFailure;
  /** Whether the shell was told the consumer is now not ready. */
  toldNotReady: boolean;
}

/** The state the decisions read and update. */
export interface ConsumerCore {
  readonly settings: CoreSettings;
  /** Events (accepted and rejected) taken into the buffer since the last cut. */
  bufferedEvents: number;
  /** Bytes of rejected messages (keys and values) in the buffer. */
  bufferedRejectedBytes: number;
  /** Distinct rows the buffer will write. */
  bufferedKeys: number;
  /** When the buffer's first event was taken, epoch ms. */
  bufferedSinceMs: number;
  /** Partitions whose offsets must move without events (a recorded gap, a recreated topic). */
  pendingRanges: number;
  /** Events of the flush being committed. */
  inFlightEvents: number;
  /** A flush was asked for before it was due (partitions are being revoked). */
  flushRequested: boolean;
  /** A backlog has been drained since the consumer last had nothing left to read. */
  drainingBacklog: boolean;
  /** Set when stopping: the time by which the last flush must be committed. */
  stopDeadlineMs: number | null;
  /** The current run of failed flushes, if any. */
  failing: FailingFlushes | null;
  /** Why the consumer cannot work now besides failing flushes (the topic is missing ...). */
  blocked: string | null;
}

/** A core with nothing buffered. */
export function createCore(settings: CoreSettings): ConsumerCore {
  return {
    settings,
    bufferedEvents: 0,
    bufferedRejectedBytes: 0,
    bufferedKeys: 0,
    bufferedSinceMs: 0,
    pendingRanges: 0,
    inFlightEvents: 0,
    flushRequested: false,
    drainingBacklog: false,
    stopDeadlineMs: null,
    failing: null,
    blocked: null,
  };
}

/** Records events taken into the buffer, and the distinct rows the buffer now holds. */
export function admitToBuffer(
  core: ConsumerCore,
  taken: { events: number; rejectedBytes: number; keys: number; nowMs: number },
): void {
  if (core.bufferedEvents === 0 && core.pendingRanges === 0) core.bufferedSinceMs = taken.nowMs;
  core.bufferedEvents += taken.events;
  core.bufferedRejectedBytes += taken.rejectedBytes;
  core.bufferedKeys = taken.keys;
}

/** Records a partition whose stored offset must move with the next flush though no event came. */
export function admitRangeOnly(core: ConsumerCore, nowMs: number): void {
  if (core.bufferedEvents === 0 && core.pendingRanges === 0) core.bufferedSinceMs = nowMs;
  core.pendingRanges++;
}

/** Whether fetching must wait for a flush to make room (backpressure). */
export function isBufferFull(core: ConsumerCore): boolean {
  return core.bufferedEvents >= core.settings.maxBufferEvents ||
    core.bufferedKeys >= core.settings.maxBufferKeys ||
    core.bufferedRejectedBytes >= core.settings.maxBufferedRejectedBytes;
}

/**
 * Whether the consumer is far enough behind to trade latency for larger flushes: more unread
 * messages than five flushes' worth (or than the buffer holds).
 */
export function isCatchingUp(core: ConsumerCore, unreadMessages: bigint): boolean {
  const { flushEvents, maxBufferEvents } = core.settings;
  return unreadMessages > BigInt(Math.min(maxBufferEvents, 5 * flushEvents));
}

/** What the flush loop does next. */
export type FlushDecision =
  | { readonly kind: "flush" }
  | { readonly kind: "wait"; readonly ms: number }
  /** Stopping with nothing left to commit. */
  | { readonly kind: "finished" };

/**
 * Whether a flush is due now, and if not how long to wait at most. Remembers whether a backlog is
 * being drained (`drainingBacklog`): towards its end a flush is due whenever what is left to read
 * fits in what is buffered, and the moment the last of it is read, what is buffered is flushed at
 * once rather than after the interval.
 */
export function flushDecision(
  core: ConsumerCore,
  state: { nowMs: number; unreadMessages: bigint },
): FlushDecision {
  const { settings } = core;
  // Far behind (draining a filled topic), latency is already lost: fewer, larger flushes
  // collapse more events into each row and leave the CPU to decoding. Their size is bounded by
  // the distinct rows they hold (memory, and the database's work), not by events.
  const catchingUp = isCatchingUp(core, state.unreadMessages);
  const threshold = catchingUp ? Math.ceil(settings.maxBufferEvents / 2) : settings.flushEvents;
  const keyThreshold = catchingUp ? Math.ceil(settings.maxBufferKeys / 2) : settings.maxBufferKeys;
  const interval = catchingUp ? settings.catchUpFlushIntervalMs : settings.flushIntervalMs;
  const holding = core.bufferedEvents > 0 || core.pendingRanges > 0;
  // The end of a backlog: once what is left to read is no more than what is buffered, flush it,
  // so the flush after the last message is read (which nothing overlaps) holds half as much (no
  // longer far behind, the live thresholds are small anyway); caught up, nothing more will join
  // a flush soon and waiting out the interval would only delay the end of the catch-up. Reading
  // live, the interval still batches.
  const caughtUp = core.drainingBacklog &&
    (state.unreadMessages === 0n ||
      (catchingUp && state.unreadMessages <= BigInt(core.bufferedEvents)));
  if (catchingUp) core.drainingBacklog = true;
  else if (state.unreadMessages === 0n) core.drainingBacklog = false;
  if (!holding) {
    return core.stopDeadlineMs !== null ? { kind: "finished" } : { kind: "wait", ms: interval };
  }
  const age = state.nowMs - core.bufferedSinceMs;
  if (
    core.stopDeadlineMs !== null || core.flushRequested || caughtUp ||
    core.bufferedEvents >= threshold || core.bufferedKeys >= keyThreshold || age >= interval
  ) {
    return { kind: "flush" };
  }
  return { kind: "wait", ms: Math.max(1, interval - age) };
}

/** Moves the buffer into a flush; returns its number of events. */
export function cutBuffer(core: ConsumerCore): number {
  const events = discardBuffer(core);
  core.inFlightEvents = events;
  core.flushRequested = false;
  return events;
}

/** Empties the buffer (its events will be read again); returns how many events it held. */
export function discardBuffer(core: ConsumerCore): number {
  const events = core.bufferedEvents;
  core.bufferedEvents = 0;
  core.bufferedRejectedBytes = 0;
  core.bufferedKeys = 0;
  core.pendingRanges = 0;
  return events;
}

/** A change the shell should log once (never once per retry). */
export type CoreTransition =
  | { readonly kind: "failing"; readonly failure: ClassifiedFailure }
  | { readonly kind: "not_ready"; readonly failure: ClassifiedFailure; readonly forMs: number }
  | { readonly kind: "recovered"; readonly afterMs: number; readonly attempts: number };

/** What to do after a flush attempt failed. */
export type FailureDecision =
  | {
    readonly kind: "retry";
    readonly delayMs: number;
    /** Store the flush's rejections without their bytes next time (their bytes may be the cause). */
    readonly withoutRejectedBytes: boolean;
    readonly transitions: readonly CoreTransition[];
  }
  /** Stopping and out of time: give up; the flush's events will be read again. */
  | { readonly kind: "abandon"; readonly events: number };

/** Decides what follows a failed flush attempt. */
export function flushFailed(
  core: ConsumerCore,
  state: { nowMs: number; failure: ClassifiedFailure; random?: () => number },
): FailureDecision {
  const { nowMs, failure } = state;
  const transitions: CoreTransition[] = [];
  if (core.failing === null) {
    core.failing = { sinceMs: nowMs, attempts: 0, last: failure, toldNotReady: false };
    transitions.push({ kind: "failing", failure });
  }
  const failing = core.failing;
  failing.attempts++;
  failing.last = failure;
  if (core.stopDeadlineMs !== null && nowMs >= core.stopDeadlineMs) {
    return { kind: "abandon", events: core.inFlightEvents + core.bufferedEvents };
  }
  const forMs = nowMs - failing.sinceMs;
  if (!failing.toldNotReady && forMs >= core.settings.notReadyAfterFailingMs) {
    failing.toldNotReady = true;
    transitions.push({ kind: "not_ready", failure, forMs });
  }
  // Someone must act on a permanent failure (grant a privilege, apply a migration): keep trying,
  // calmly, so the consumer resumes by itself once they have.
  const capMs = failure.kind === "permanent" ? 30_000 : 5_000;
  let delayMs = backoffDelayMs(failing.attempts, { capMs, random: state.random });
  if (core.stopDeadlineMs !== null) delayMs = Math.min(delayMs, core.stopDeadlineMs - nowMs);
  return {
    kind: "retry",
    delayMs: Math.max(0, delayMs),
    // A data exception (class 22) or a size limit (54) may come from a stored message's bytes.
    withoutRejectedBytes: failure.kind === "permanent" && /^(22|54)/.test(failure.code ?? ""),
    transitions,
  };
}

/** Records that the flush in flight committed, was refused or was abandoned. */
export function flushSettled(core: ConsumerCore, nowMs: number): CoreTransition | null {
  core.inFlightEvents = 0;
  const failing = core.failing;
  core.failing = null;
  if (failing === null) return null;
  return { kind: "recovered", afterMs: nowMs - failing.sinceMs, attempts: failing.attempts };
}

/** Starts stopping; false when already stopping. */
export function beginStop(core: ConsumerCore, nowMs: number): boolean {
  if (core.stopDeadlineMs !== null) return false;
  core.stopDeadlineMs = nowMs + core.settings.stopFlushDeadlineMs;
  return true;
}

/** Whether the consumer can do its work, and why not. */
export type Readiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: string };

/** Ready: partitions assigned, PostgreSQL answering, flushes not failing for long, nothing blocking. */
export function readiness(
  core: ConsumerCore,
  state: { nowMs: number; assignedPartitions: number; databaseAnswers: boolean },
): Readiness {
  if (core.stopDeadlineMs !== null) return { ready: false, reason: "stopping" };
  if (core.blocked !== null) return { ready: false, reason: core.blocked };
  if (!state.databaseAnswers) return { ready: false, reason: "PostgreSQL does not answer" };
  const failing = core.failing;
  if (failing !== null && state.nowMs - failing.sinceMs >= core.settings.notReadyAfterFailingMs) {
    const seconds = Math.round((state.nowMs - failing.sinceMs) / 1000);
    return {
      ready: false,
      reason: `flushes have failed for ${seconds} s (${failing.attempts} attempts): ` +
        failing.last.summary,
    };
  }
  if (state.assignedPartitions === 0) {
    return { ready: false, reason: "no partitions assigned (joining the group)" };
  }
  return { ready: true };
}
