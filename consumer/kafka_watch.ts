/**
 * Whether the Kafka client is alive, pure. KafkaJS can stop fetching and
 * heartbeating without an error (tulios/kafkajs#659, #1431; once here during
 * a rolling broker restart), and a consumer that took that silence for an
 * idle topic would stall unnoticed. So the client's signs of life are noted
 * (a fetch begun, a heartbeat, a group join, a restart after an error, a batch
 * in hand); a long silence makes the consumer not ready, and a longer one
 * stops it with an error, so that its supervisor restarts it and it rejoins
 * the group. Offsets live in PostgreSQL: nothing read is lost or counted twice.
 */

/** How long a silence is tolerated. */
export interface KafkaWatchSettings {
  /** A silence this long makes the consumer not ready (and is logged once). */
  readonly silentAfterMs: number;
  /** A silence this long stops the consumer. */
  readonly stalledAfterMs: number;
}

/** The silences for a group session timeout: a healthy client heartbeats many times in each. */
export function kafkaWatchSettings(sessionTimeoutMs: number): KafkaWatchSettings {
  // KafkaJS gives up a failing fetch and restarts itself (a sign of life) well within a minute,
  // so even a broker outage is not silence this long.
  const silentAfterMs = Math.max(60_000, 2 * sessionTimeoutMs);
  return { silentAfterMs, stalledAfterMs: 3 * silentAfterMs };
}

/** The last sign of life, and whether the current silence was told. */
export interface KafkaWatch {
  readonly settings: KafkaWatchSettings;
  lastSignMs: number;
  toldSilent: boolean;
}

/** A watch whose first silence counts from `nowMs` (the client's start). */
export function createKafkaWatch(settings: KafkaWatchSettings, nowMs: number): KafkaWatch {
  return { settings, lastSignMs: nowMs, toldSilent: false };
}

/** Records a sign of life. Returns how long the silence it ends had been told (0: not told). */
export function noteKafkaSign(watch: KafkaWatch, nowMs: number): number {
  const toldMs = watch.toldSilent ? nowMs - watch.lastSignMs : 0;
  watch.lastSignMs = nowMs;
  watch.toldSilent = false;
  return toldMs;
}

/** What a silence means now. */
export type KafkaWatchVerdict =
  | { readonly kind: "alive" }
  /** `tell`: the first verdict of this silence (log it once). */
  | { readonly kind: "silent"; readonly silentMs: number; readonly tell: boolean }
  | { readonly kind: "stalled"; readonly silentMs: number };

/** Judges the current silence; a stopping consumer is always alive (its stop has a budget). */
export function judgeKafkaWatch(
  watch: KafkaWatch,
  state: { nowMs: number; stopping: boolean },
): KafkaWatchVerdict {
  const silentMs = state.nowMs - watch.lastSignMs;
  if (state.stopping || silentMs < watch.settings.silentAfterMs) return { kind: "alive" };
  if (silentMs >= watch.settings.stalledAfterMs) return { kind: "stalled", silentMs };
  const tell = !watch.toldSilent;
  watch.toldSilent = true;
  return { kind: "silent", silentMs, tell };
}

/** Why a silent client makes the consumer not ready, for `/readyz` and the log. */
export function silenceReason(silentMs: number): string {
  return `the Kafka client has shown no sign of life (no fetch, heartbeat or batch) for ` +
    `${Math.round(silentMs / 1000)} s`;
}
