/**
 * The figures of one consumer-scaling run, computed from what was sampled
 * (pure): events/s per consumer and in total, CPU per event, and how much of
 * each flush PostgreSQL spent executing it.
 */

/** One consumer's counters at a moment (from its /metrics and /proc). */
export interface ConsumerSample {
  readonly atMs: number;
  /** Events committed by this consumer so far (accepted + rejected). */
  readonly committed: number;
  readonly assigned: number;
  /** CPU seconds of its process so far, if readable. */
  readonly cpuSeconds?: number;
  /** Sum and count of its flush durations so far. */
  readonly flushSeconds: number;
  readonly flushes: number;
  /** Rows inserted or updated in user_event_summary so far: distinct (user, minute, type) per flush. */
  readonly summaryRows?: number;
}

/** What one run measured. */
export interface ScalingRunInput {
  readonly consumers: number;
  /** Events in the topic, all committed at `doneMs`. */
  readonly events: number;
  readonly startedMs: number;
  readonly doneMs: number;
  /** Per consumer, its samples in time order. */
  readonly samples: readonly (readonly ConsumerSample[])[];
  /** PostgreSQL's time executing statements in the run's database (pg_stat_database). */
  readonly postgresActiveMs: number;
  /**
   * Samples of the database's sessions: how many were running a statement, and how many of those
   * were waiting for a row lock another flush held (pg_stat_activity).
   */
  readonly postgresSessions?: { readonly active: number; readonly waitingOnLocks: number };
  /** CPU of the database's backends (the consumers' connections), if readable. */
  readonly postgresCpuSeconds?: number;
  /** CPU of the local brokers during the run, if their processes are known. */
  readonly brokerCpuSeconds?: number;
  /** The whole machine during the run. */
  readonly machine: {
    readonly busySeconds: number;
    readonly totalSeconds: number;
    readonly loadStart: number;
    readonly loadEnd: number;
  };
}

/** One consumer's figures. */
export interface ConsumerFigures {
  readonly events: number;
  readonly partitions: number;
  /** Events/s over its busy time: from every member holding partitions to its last commit. */
  readonly eventsPerSecond: number;
  readonly cpuMicrosPerEvent?: number;
  /** CPU seconds from its first assignment to the end, and the events committed meanwhile. */
  readonly cpuSeconds?: number;
  readonly eventsMeasured: number;
  /** CPU seconds per wall second over its busy time (1 = one core). */
  readonly cpuCores?: number;
  readonly flushes: number;
  readonly meanFlushMs: number;
  readonly meanEventsPerFlush: number;
}

/** A run's figures. */
export interface ScalingRun {
  readonly consumers: number;
  readonly events: number;
  /** From the consumers' start until every member held partitions. */
  readonly allAssignedAfterMs?: number;
  /** Total events/s, consumers' start to all committed. */
  readonly totalEventsPerSecond: number;
  /** Total events/s while every member was busy (all assigned until the first finished). */
  readonly totalEventsPerSecondAllBusy?: number;
  readonly perConsumer: readonly ConsumerFigures[];
  /** Consumers' CPU per event, all members together. */
  readonly consumerCpuMicrosPerEvent?: number;
  readonly postgres: {
    readonly activeMs: number;
    readonly activeMsPerFlush: number;
    /** PostgreSQL's executing time over the consumers' flush time: the share spent waiting on it. */
    readonly shareOfFlushTime: number;
    /** Of PostgreSQL's executing time, the share spent waiting for locks held by other flushes. */
    readonly lockWaitShare?: number;
    readonly cpuMicrosPerEvent?: number;
    /** Per-minute rows upserted per event (what PostgreSQL's work grows with) and their cost. */
    readonly summaryRowsPerEvent?: number;
    readonly cpuMicrosPerSummaryRow?: number;
  };
  readonly brokerCpuMicrosPerEvent?: number;
  readonly machine: {
    /** Busy share of all cores during the run (everyone's work, ours included). */
    readonly busyShare: number;
    readonly loadStart: number;
    readonly loadEnd: number;
    /** Busy CPU seconds not accounted to our consumers, PostgreSQL backends or brokers. */
    readonly otherCpuSeconds?: number;
  };
}

function at(samples: readonly ConsumerSample[], ms: number): ConsumerSample | undefined {
  let found: ConsumerSample | undefined;
  for (const sample of samples) {
    if (sample.atMs > ms) break;
    found = sample;
  }
  return found;
}

/** When the consumer's count last rose (its work ended), or its first sample. */
function lastIncrease(samples: readonly ConsumerSample[]): ConsumerSample | undefined {
  for (let i = samples.length - 1; i > 0; i--) {
    if (samples[i].committed > samples[i - 1].committed) return samples[i];
  }
  return samples[0];
}

/** Computes a run's figures from its samples. */
export function scalingFigures(input: ScalingRunInput): ScalingRun {
  const allAssigned = input.samples.length === 0 ? undefined : Math.max(
    ...input.samples.map((samples) =>
      samples.find((sample) => sample.assigned > 0)?.atMs ?? Infinity
    ),
  );
  const assignedAt = allAssigned !== undefined && Number.isFinite(allAssigned)
    ? allAssigned
    : undefined;
  const ends = input.samples.map(lastIncrease);
  const perConsumer = input.samples.map((samples, i): ConsumerFigures => {
    const last = samples.at(-1);
    const first = samples.find((sample) => sample.assigned > 0);
    const from = assignedAt === undefined ? first : at(samples, assignedAt);
    const end = ends[i];
    const busyMs = from && end ? end.atMs - from.atMs : 0;
    const cpu = first?.cpuSeconds !== undefined && last?.cpuSeconds !== undefined
      ? last.cpuSeconds - first.cpuSeconds
      : undefined;
    const eventsSinceFirst = (last?.committed ?? 0) - (first?.committed ?? 0);
    const flushes = last?.flushes ?? 0;
    return {
      events: last?.committed ?? 0,
      partitions: last?.assigned ?? 0,
      eventsPerSecond: busyMs > 0 ? ((end!.committed - from!.committed) * 1000) / busyMs : 0,
      cpuMicrosPerEvent: cpu !== undefined && eventsSinceFirst > 0
        ? (cpu * 1e6) / eventsSinceFirst
        : undefined,
      cpuSeconds: cpu,
      eventsMeasured: eventsSinceFirst,
      cpuCores: cpu !== undefined && first && last && last.atMs > first.atMs
        ? (cpu * 1000) / (last.atMs - first.atMs)
        : undefined,
      flushes,
      meanFlushMs: flushes > 0 ? ((last?.flushSeconds ?? 0) * 1000) / flushes : 0,
      meanEventsPerFlush: flushes > 0 ? (last?.committed ?? 0) / flushes : 0,
    };
  });
  let allBusy: number | undefined;
  const firstDone = Math.min(...ends.map((end) => end?.atMs ?? Infinity));
  if (assignedAt !== undefined && firstDone > assignedAt) {
    const committedAt = (ms: number) =>
      input.samples.reduce((sum, samples) => sum + (at(samples, ms)?.committed ?? 0), 0);
    allBusy = ((committedAt(firstDone) - committedAt(assignedAt)) * 1000) /
      (firstDone - assignedAt);
  }
  const consumerCpuSeconds = perConsumer.every((consumer) => consumer.cpuSeconds !== undefined)
    ? perConsumer.reduce((sum, consumer) => sum + consumer.cpuSeconds!, 0)
    : undefined;
  const eventsMeasured = perConsumer.reduce((sum, consumer) => sum + consumer.eventsMeasured, 0);
  const flushes = perConsumer.reduce((sum, consumer) => sum + consumer.flushes, 0);
  const flushMs = perConsumer.reduce((sum, c) => sum + c.meanFlushMs * c.flushes, 0);
  const perEvent = (seconds: number | undefined) =>
    seconds === undefined || input.events === 0 ? undefined : (seconds * 1e6) / input.events;
  const accounted = [consumerCpuSeconds, input.postgresCpuSeconds, input.brokerCpuSeconds];
  const rows = input.samples.map((samples) => samples.at(-1)?.summaryRows);
  const summaryRows = rows.every((count) => count !== undefined)
    ? rows.reduce((sum, count) => sum! + count!, 0)!
    : undefined;
  return {
    consumers: input.consumers,
    events: input.events,
    allAssignedAfterMs: assignedAt === undefined ? undefined : assignedAt - input.startedMs,
    totalEventsPerSecond: (input.events * 1000) / Math.max(1, input.doneMs - input.startedMs),
    totalEventsPerSecondAllBusy: allBusy,
    perConsumer,
    consumerCpuMicrosPerEvent: consumerCpuSeconds !== undefined && eventsMeasured > 0
      ? (consumerCpuSeconds * 1e6) / eventsMeasured
      : undefined,
    postgres: {
      activeMs: input.postgresActiveMs,
      activeMsPerFlush: flushes > 0 ? input.postgresActiveMs / flushes : 0,
      shareOfFlushTime: flushMs > 0 ? input.postgresActiveMs / flushMs : 0,
      lockWaitShare: input.postgresSessions && input.postgresSessions.active > 0
        ? input.postgresSessions.waitingOnLocks / input.postgresSessions.active
        : undefined,
      cpuMicrosPerEvent: perEvent(input.postgresCpuSeconds),
      summaryRowsPerEvent: summaryRows !== undefined && input.events > 0
        ? summaryRows / input.events
        : undefined,
      cpuMicrosPerSummaryRow: summaryRows && input.postgresCpuSeconds !== undefined
        ? (input.postgresCpuSeconds * 1e6) / summaryRows
        : undefined,
    },
    brokerCpuMicrosPerEvent: perEvent(input.brokerCpuSeconds),
    machine: {
      busyShare: input.machine.totalSeconds > 0
        ? input.machine.busySeconds / input.machine.totalSeconds
        : 0,
      loadStart: input.machine.loadStart,
      loadEnd: input.machine.loadEnd,
      otherCpuSeconds: accounted.every((seconds) => seconds !== undefined)
        ? input.machine.busySeconds - accounted.reduce((sum, seconds) => sum! + seconds!, 0)!
        : undefined,
    },
  };
}

/** The runs as an aligned text table, one line per run. */
export function renderScalingTable(runs: readonly ScalingRun[]): string {
  const number = (value: number | undefined, digits = 0) =>
    value === undefined || !Number.isFinite(value)
      ? "n/a"
      : value.toLocaleString("en-US", { maximumFractionDigits: digits });
  const header = [
    "consumers",
    "events/s total",
    "all busy",
    "events/s per consumer",
    "CPU µs/event: consumers, PG, brokers",
    "PG share of flush",
    "PG ms/flush",
    "PG lock wait",
    "rows/event",
    "events/flush",
    "machine busy",
    "load",
  ];
  const rows = runs.map((run) => {
    const flushes = run.perConsumer.reduce((sum, consumer) => sum + consumer.flushes, 0);
    return [
      String(run.consumers),
      number(run.totalEventsPerSecond),
      number(run.totalEventsPerSecondAllBusy),
      run.perConsumer.map((consumer) => number(consumer.eventsPerSecond)).join(" / "),
      [run.consumerCpuMicrosPerEvent, run.postgres.cpuMicrosPerEvent, run.brokerCpuMicrosPerEvent]
        .map((value) => number(value, 1)).join(" / "),
      `${number(run.postgres.shareOfFlushTime * 100)} %`,
      number(run.postgres.activeMsPerFlush),
      run.postgres.lockWaitShare === undefined
        ? "n/a"
        : `${number(run.postgres.lockWaitShare * 100)} %`,
      number(run.postgres.summaryRowsPerEvent, 3),
      number(flushes > 0 ? run.events / flushes : undefined),
      `${number(run.machine.busyShare * 100)} %`,
      `${number(run.machine.loadStart, 1)}→${number(run.machine.loadEnd, 1)}`,
    ];
  });
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i])).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
