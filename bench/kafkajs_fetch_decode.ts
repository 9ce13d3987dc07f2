/**
 * Micro-benchmark of the consumer's KafkaJS fetch speedups: decodes one
 * realistic fetch response (6 partitions of 5 000 canonical events of about
 * 200 bytes, in record batches of 250) the way the consumer's KafkaJS does
 * (fetch v11 response, then a `Batch` per partition), with plain KafkaJS and
 * with the speedups, each in fresh processes (module swaps cannot be undone),
 * alternating: `deno run -A bench/kafkajs_fetch_decode.ts [runs]`.
 * Per run: CPU and wall ns per record over a loop of decodes, the garbage
 * collections V8 traced during that loop (count and pause time), and, in a
 * process of its own with a young generation large enough that no collection
 * interrupts one decode, the heap bytes one decode allocates per record.
 */
import { fileURLToPath } from "node:url";
import { decodeSampleFetch, sampleFetch } from "../testing/consumer_kafkajs_fetch.ts";
import { load1, processCpuMs } from "./machine_load.ts";

const PARTITIONS = 6;
const BATCHES = 20;
const RECORDS = 250;
/** Measured decodes of the whole response per run (after as many warm-up ones). */
const ROUNDS = 40;

/**
 * The measured part lies between two forced full collections, which V8's own trace shows as
 * `testing` ones: a mark in its stream (our output and V8's are not ordered with each other).
 */
const gc = (globalThis as { gc?: () => void }).gc;

/** Decodes the sample `ROUNDS` times after as many warm-up decodes; prints its figures. */
async function child(options: { speedups: boolean; alloc: boolean }): Promise<void> {
  if (options.speedups) {
    const { installKafkaJsFetchSpeedups } = await import("../consumer/kafkajs_fetch_speedups.ts");
    const state = await installKafkaJsFetchSpeedups();
    if (state.problems.length > 0) throw new Error(state.problems.join("; "));
  }
  const fetch = await sampleFetch({ partitions: PARTITIONS, batches: BATCHES, records: RECORDS });
  let messages = 0;
  for (let i = 0; i < ROUNDS; i++) messages += (await decodeSampleFetch(fetch)).length;
  if (options.alloc) {
    gc!();
    const before = Deno.memoryUsage().heapUsed;
    const batches = await decodeSampleFetch(fetch);
    const allocated = Deno.memoryUsage().heapUsed - before;
    gc!();
    messages += batches.length;
    console.error(JSON.stringify({ bytes_per_record: Math.round(allocated / fetch.records) }));
    return;
  }
  gc!();
  const cpuBefore = processCpuMs(Deno.pid)!;
  const wallBefore = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    for (const batch of await decodeSampleFetch(fetch)) messages += batch.messages.length;
  }
  const wallMs = performance.now() - wallBefore;
  const cpuMs = processCpuMs(Deno.pid)! - cpuBefore;
  gc!();
  const records = ROUNDS * fetch.records;
  console.error(JSON.stringify({
    messages,
    cpu_ns_per_record: Math.round((cpuMs * 1e6) / records),
    wall_ns_per_record: Math.round((wallMs * 1e6) / records),
  }));
}

/** The GC trace lines between the last two forced collections. */
function measuredGcs(trace: string): string[] {
  const lines = trace.split("\n").filter((line) => /^\[\d+:/.test(line));
  const forced = lines.flatMap((line, i) => / testing[;,]/.test(line) ? [i] : []);
  if (forced.length < 2) throw new Error("the benchmark child's GC trace shows no forced GCs");
  const [from, to] = forced.slice(-2);
  return lines.slice(from + 1, to);
}

/** A child's result (its last line on stderr) and the GCs of its measured part. */
async function runChild(
  flags: string[],
  v8: string,
): Promise<{ result: Record<string, number>; gcs: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=--trace-gc,--expose-gc${v8}`, fileURLToPath(import.meta.url)]
      .concat(["--child", ...flags]),
  }).output();
  const text = new TextDecoder();
  if (!output.success) {
    throw new Error(`the benchmark child failed (${output.code}): ${text.decode(output.stderr)}`);
  }
  const result = JSON.parse(text.decode(output.stderr).trim().split("\n").at(-1)!);
  return { result, gcs: measuredGcs(text.decode(output.stdout)) };
}

interface RunFigures {
  readonly cpu: number;
  readonly wall: number;
  readonly gcs: number;
  readonly gcMs: number;
  readonly bytes: number;
}

async function run(speedups: boolean): Promise<RunFigures> {
  const flags = speedups ? ["--speedups"] : [];
  const timed = await runChild(flags, "");
  // 256 MB semi-spaces: one decode (tens of MB) allocates without a collection.
  const alloc = await runChild(
    [...flags, "--alloc"],
    ",--semi-space-growth-factor=2" +
      ",--min-semi-space-size=256,--max-semi-space-size=256",
  );
  if (alloc.gcs.length > 0) throw new Error("a GC interrupted the allocation measurement");
  const pauses = timed.gcs.map((line) => Number(line.match(/MB, ([\d.]+) \//)?.[1] ?? 0));
  return {
    cpu: timed.result.cpu_ns_per_record,
    wall: timed.result.wall_ns_per_record,
    gcs: timed.gcs.length,
    gcMs: Math.round(pauses.reduce((sum, ms) => sum + ms, 0)),
    bytes: alloc.result.bytes_per_record,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

if (import.meta.main) {
  if (Deno.args.includes("--child")) {
    await child({
      speedups: Deno.args.includes("--speedups"),
      alloc: Deno.args.includes("--alloc"),
    });
  } else {
    const runs = Number(Deno.args[0] ?? 3);
    const all: Record<string, RunFigures[]> = { plain: [], speedups: [] };
    console.log(
      `${PARTITIONS} partitions x ${BATCHES * RECORDS} records, ${ROUNDS} decodes per run, ` +
        `load ${load1()}`,
    );
    for (let i = 0; i < runs; i++) {
      for (const speedups of [false, true]) {
        const figures = await run(speedups);
        all[speedups ? "speedups" : "plain"].push(figures);
        console.log(speedups ? "speedups" : "plain   ", JSON.stringify(figures));
      }
    }
    for (const [name, list] of Object.entries(all)) {
      const mid = (key: keyof RunFigures) => median(list.map((figures) => figures[key]));
      console.log(
        `${name.padEnd(8)} median: ${mid("cpu")} CPU ns/record, ${mid("wall")} wall ns/record, ` +
          `${mid("gcs")} GCs in ${ROUNDS} decodes (${mid("gcMs")} ms paused), ` +
          `${mid("bytes")} heap bytes allocated per record`,
      );
    }
    console.log(`load ${load1()}`);
  }
}
