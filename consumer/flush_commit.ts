/**
 * Committing one flush plan: check the topic is still the one the plan was
 * read from, publish its dead letters (before the commit: a crash in between
 * only repeats them), commit it in one fenced statement, and act on the
 * outcome — committed, refused by the offset fence, refused because another
 * group owns the topic, or failed (retried as the pure core decides, or
 * abandoned at the stop deadline).
 */
import type { Logger } from "@activity/shared";
import type { DeadLetterOutcome } from "./dead_letters.ts";
import { type FlushPlan, planEvents } from "./flush_plan.ts";
import { recordCommit } from "./metrics.ts";
import { commitRanges } from "./offset_fence.ts";
import { returnToStoredOffsets, topicReplaced } from "./log_watch.ts";
import { type CoreTransition, flushFailed, flushSettled } from "./pipeline_core.ts";
import {
  ConsumerStoppedError,
  discardEverything,
  failPipeline,
  forgetBuffered,
  type PipelineState,
  updateLag,
} from "./pipeline_state.ts";
import { classifyDatabaseError, classifyKafkaError, isKafkaError } from "./retry.ts";

/** Commits one plan, retrying as the core decides; returns when it settled. */
export async function commitPlan(state: PipelineState, plan: FlushPlan): Promise<void> {
  const { core, clock, metrics, log, summary } = state;
  const source = state.source!;
  const report = (transition: CoreTransition | null) => {
    if (transition) logTransition(log, transition);
  };
  let deadLetters: DeadLetterOutcome[] | undefined = plan.rejections.length === 0 ? [] : undefined;
  let withoutRejectedBytes = false;
  while (true) {
    const started = performance.now();
    try {
      if (plan.topicId !== null) {
        // Only the id: reading every partition's offsets each flush would cost broker round trips.
        const topicId = await source.topicId();
        if (topicId !== null && topicId !== plan.topicId) {
          report(flushSettled(core, clock.now()));
          await topicReplaced(state, { topicId, inFlightEvents: planEvents(plan) });
          return;
        }
      }
      if (deadLetters === undefined) {
        // Before the commit: a crash in between only repeats dead letters, never loses one.
        deadLetters = await source.publishDeadLetters(plan.rejections);
        for (const outcome of deadLetters) {
          const label = outcome === "sent" ? "sent" : outcome === "sent cut" ? "cut" : "refused";
          metrics.deadLetters.inc({ outcome: label });
        }
      }
      const outcome = await state.store.commitFlush(plan, {
        deadLetters,
        withoutBytes: withoutRejectedBytes,
      });
      if (outcome.kind === "committed") {
        commitRanges(state.fence, plan.ranges);
        recordCommit(metrics, plan, {
          rows: outcome.rows,
          durationMs: performance.now() - started,
          nowMs: clock.now(),
        });
        updateLag(state);
        source.commitGroupOffsets(plan.ranges);
        summary.committedEvents += planEvents(plan);
        summary.flushes++;
        report(flushSettled(core, clock.now()));
        if (log.enabled("debug")) {
          log.debug("flush committed", {
            events: planEvents(plan),
            count_rows: plan.counts.users.length,
            ms: Math.round(performance.now() - started),
            ...Object.fromEntries(
              Object.entries(outcome.timings).map(([step, ms]) => [`${step}_ms`, Math.round(ms)]),
            ),
          });
        }
        return;
      }
      report(flushSettled(core, clock.now()));
      if (outcome.kind === "not_owner") {
        discardEverything(state, planEvents(plan));
        failPipeline(
          state,
          new ConsumerStoppedError(
            `Stopping: topic "${state.config.topic}" was handed over to consumer group ` +
              `"${outcome.owner}"; this consumer (group "${state.config.group}") must not ` +
              `count it. Run with --group ${outcome.owner} to count it again.`,
          ),
        );
        return;
      }
      metrics.flushes.inc({ outcome: "fenced" });
      summary.fenceMisses++;
      log.warn("flush refused: the stored offsets moved on; reading from them again", {
        partitions: outcome.partitions.join(","),
        discarded_events: planEvents(plan) + core.bufferedEvents,
      });
      await returnToStoredOffsets(state, planEvents(plan));
      return;
    } catch (error) {
      metrics.flushes.inc({ outcome: "failed" });
      const failure = isKafkaError(error)
        ? classifyKafkaError(error)
        : classifyDatabaseError(error);
      const decision = flushFailed(core, { nowMs: clock.now(), failure, random: state.random });
      if (decision.kind === "abandon") {
        summary.abandonedEvents += decision.events;
        log.error("stopping without committing the last flush; it will be read again", {
          events: decision.events,
          error,
        });
        flushSettled(core, clock.now()); // abandoned: not a recovery to announce
        forgetBuffered(state); // counted once, as abandoned
        return;
      }
      decision.transitions.forEach(report);
      withoutRejectedBytes ||= decision.withoutRejectedBytes;
      log.debug("flush failed; nothing was committed, retrying", {
        attempt: core.failing?.attempts,
        retry_in_ms: decision.delayMs,
        events: planEvents(plan),
        error,
      });
      // Before a stop, a stop cuts the wait short; while stopping, the core caps the wait.
      await clock.sleep(
        decision.delayMs,
        core.stopDeadlineMs === null ? state.stopped.signal : undefined,
      );
    }
  }
}

function logTransition(log: Logger, transition: CoreTransition): void {
  switch (transition.kind) {
    case "failing":
      log.warn("flushes are failing; nothing is committed, retrying with backoff", {
        kind: transition.failure.kind,
        code: transition.failure.code,
        error: transition.failure.summary,
      });
      return;
    case "not_ready":
      log.error("flushes have kept failing: reporting not ready on /readyz until one commits", {
        failing_for_s: Math.round(transition.forMs / 1000),
        kind: transition.failure.kind,
        code: transition.failure.code,
        error: transition.failure.summary,
      });
      return;
    case "recovered":
      log.info("flushes commit again", {
        after_s: Math.round(transition.afterMs / 100) / 10,
        failed_attempts: transition.attempts,
      });
  }
}
