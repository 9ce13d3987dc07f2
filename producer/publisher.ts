/**
 * The publishing loop: takes messages from a simulation, paces them on its
 * schedule (or not at all at `--rate max`), packs them into batches bounded by
 * size and time, and hands each batch to a sink with a bounded number in
 * flight; while all slots are taken, generation waits (backpressure) instead
 * of buffering. Nothing counts as sent until the sink says Kafka acknowledged
 * it. No Kafka here: the sink is the edge.
 */
import { setImmediate } from "node:timers";
import { REJECT_REASONS, type RejectReason, sleep } from "@activity/shared";
import { type BatchLimits, OutgoingBatch } from "./batch.ts";
import type { SimulatedMessage, Simulation } from "./simulation.ts";

/** Where batches go. */
export interface MessageSink {
  /** Resolves once every message of `batch` is acknowledged; rejects when sending finally failed. */
  send(batch: OutgoingBatch): Promise<void>;
}

/** Why publishing stopped. */
export type StopReason = "count" | "duration" | "signal" | "error";

/** How much to publish and how. */
export interface PublishPlan {
  /** Messages to publish; 0 = no limit. */
  readonly count: number;
  /** How long to publish, in milliseconds; 0 = no limit. */
  readonly durationMs: number;
  /** `schedule` follows the simulation's send schedule; `max` goes as fast as the sink allows. */
  readonly pacing: "schedule" | "max";
  /** The simulated clock that stamps events when pacing is `max`. */
  readonly clock: { readonly startMs: number; readonly speed: number };
  /** Batch size limits, and how long a batch may wait for more messages. */
  readonly batch: BatchLimits & { readonly lingerMs: number };
  /** Batches handed to the sink and not yet acknowledged, at most. */
  readonly maxInFlight: number;
  /** Number of event types in the mix. */
  readonly typeCount: number;
}

/** Live counters, updated while publishing (read them for progress lines). */
export class PublishStats {
  /** Messages put into batches. */
  generated = 0;
  /** Messages acknowledged by Kafka. */
  sent = 0;
  /** Messages generated but not acknowledged (sending failed or was abandoned after a failure). */
  failed = 0;
  /** Batches whose sending finally failed. */
  sendErrors = 0;
  /** Valid events acknowledged, by event-type index. */
  sentByType: number[] = [];
  /** Malformed messages acknowledged, by index in `REJECT_REASONS`. */
  malformedSent: number[] = REJECT_REASONS.map(() => 0);
  /** How far the schedule is ahead of what has been generated, in milliseconds. */
  behindMs = 0;
}

/** What happens around the loop: cancellation, clocks, and callbacks for logs and metrics. */
export interface PublishHooks {
  /** Stops generating; what is already generated is still sent. */
  readonly signal?: AbortSignal;
  readonly stats?: PublishStats;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  readonly now?: () => number;
  /** Waits `ms` or until `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called for every generated message (debug logging). */
  readonly onMessage?: (message: SimulatedMessage) => void;
  /** Called when a batch was acknowledged, with the time it took. */
  readonly onAcknowledged?: (batch: OutgoingBatch, latencyMs: number) => void;
  /** Called when a batch finally failed. */
  readonly onFailed?: (batch: OutgoingBatch, error: unknown) => void;
}

/** The outcome of publishing. */
export interface PublishResult {
  readonly stats: PublishStats;
  readonly stoppedBy: StopReason;
  /** The first send failure, when there was one. */
  readonly error?: unknown;
  readonly durationMs: number;
}

/** Events stamped with one reading of the clock at `--rate max` (it moves little meanwhile). */
const STAMP_EVERY = 64;

/** Publishes messages from `simulation` to `sink` until the plan or the signal says stop. */
export async function publish(
  simulation: Simulation,
  sink: MessageSink,
  plan: PublishPlan,
  hooks: PublishHooks = {},
): Promise<PublishResult> {
  const now = hooks.now ?? (() => performance.now());
  const pause = hooks.sleep ?? sleep;
  const stats = hooks.stats ?? new PublishStats();
  stats.sentByType = Array.from({ length: plan.typeCount }, () => 0);
  const inFlight = new Set<Promise<void>>();
  const startedAt = now();
  let failure: { error: unknown } | undefined;
  let pending: SimulatedMessage | undefined;
  let stoppedBy: StopReason | undefined;
  let stamp = plan.clock.startMs;

  const stopReason = (): StopReason | undefined => {
    if (failure) return "error";
    if (hooks.signal?.aborted) return "signal";
    if (plan.count > 0 && stats.generated >= plan.count) return "count";
    return undefined;
  };

  const dispatch = async (batch: OutgoingBatch) => {
    while (inFlight.size >= plan.maxInFlight) await Promise.race(inFlight);
    if (failure) {
      stats.failed += batch.count;
      return;
    }
    const sentAt = now();
    let sending: Promise<void>;
    try {
      sending = sink.send(batch);
    } catch (error) {
      sending = Promise.reject(error);
    }
    const task: Promise<void> = sending.then(
      () => {
        acknowledge(stats, batch);
        hooks.onAcknowledged?.(batch, now() - sentAt);
      },
      (error) => {
        stats.failed += batch.count;
        stats.sendErrors++;
        failure ??= { error };
        hooks.onFailed?.(batch, error);
      },
    ).finally(() => inFlight.delete(task));
    inFlight.add(task);
    // Let the sink encode and write this batch before the next one is generated.
    await new Promise((resolve) => setImmediate(resolve));
  };

  while (stoppedBy === undefined) {
    const batch = new OutgoingBatch(plan.batch, plan.typeCount);
    for (;;) {
      stoppedBy = stopReason();
      if (stoppedBy) break;
      let message: SimulatedMessage;
      if (plan.pacing === "schedule") {
        message = pending ?? simulation.next();
        pending = undefined;
        if (plan.durationMs > 0 && message.scheduledMs >= plan.durationMs) {
          stoppedBy = "duration";
          break;
        }
        const elapsed = now() - startedAt;
        if (plan.durationMs > 0 && elapsed >= plan.durationMs) {
          stoppedBy = "duration";
          break;
        }
        if (message.scheduledMs > elapsed) {
          pending = message;
          stats.behindMs = 0;
          const lingerEnd = batch.count > 0
            ? batch.openedAt - startedAt + plan.batch.lingerMs
            : Infinity;
          if (elapsed >= lingerEnd) break;
          await pause(Math.min(message.scheduledMs, lingerEnd) - elapsed, hooks.signal);
          continue;
        }
        stats.behindMs = elapsed - message.scheduledMs;
      } else {
        if (pending === undefined && stats.generated % STAMP_EVERY === 0) {
          const elapsed = now() - startedAt;
          if (plan.durationMs > 0 && elapsed >= plan.durationMs) {
            stoppedBy = "duration";
            break;
          }
          stamp = plan.clock.startMs + plan.clock.speed * elapsed;
        }
        message = pending ?? simulation.nextAt(stamp);
        pending = undefined;
      }
      if (batch.count === 0) batch.openedAt = now();
      if (!batch.add(message.key, message.value, message)) {
        if (batch.count === 0) {
          // Unreachable with the simulation's messages (at most 32 KiB); never loop on one.
          throw new RangeError(
            `a message of ${message.value.length} bytes exceeds the batch limit`,
          );
        }
        pending = message;
        break;
      }
      stats.generated++;
      hooks.onMessage?.(message);
      if (batch.full) break;
    }
    if (batch.count > 0) await dispatch(batch);
  }
  await Promise.all(inFlight);
  return {
    stats,
    stoppedBy: failure ? "error" : stoppedBy,
    error: failure?.error,
    durationMs: now() - startedAt,
  };
}

function acknowledge(stats: PublishStats, batch: OutgoingBatch): void {
  stats.sent += batch.count;
  batch.typeCounts.forEach((count, i) => stats.sentByType[i] += count);
  batch.malformedCounts.forEach((count, i) => stats.malformedSent[i] += count);
}

/** Malformed messages acknowledged, by reason (reasons never sent are left out). */
export function malformedByReason(stats: PublishStats): Partial<Record<RejectReason, number>> {
  return Object.fromEntries(
    REJECT_REASONS.map((reason, i) => [reason, stats.malformedSent[i]]).filter(([, n]) => n),
  );
}
