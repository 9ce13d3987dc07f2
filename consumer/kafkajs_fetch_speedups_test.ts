import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { printedJson } from "../testing/command_output.ts";
import {
  describeFetchSpeedups,
  installKafkaJsFetchSpeedups,
  type KafkaJsFetchSpeedups,
} from "./kafkajs_fetch_speedups.ts";

const url = (path: string) => new URL(path, import.meta.url).href;

/** The speedups a fresh process gets when it imports `imports` first, then installs them. */
function speedupsAfter(imports: readonly string[]): Promise<KafkaJsFetchSpeedups> {
  return printedJson([
    "eval",
    `for (const specifier of ${JSON.stringify(imports)}) await import(specifier);
     const { installKafkaJsFetchSpeedups } = await import(${
      JSON.stringify(url("./kafkajs_fetch_speedups.ts"))
    });
     console.log(JSON.stringify(await installKafkaJsFetchSpeedups()));`,
  ]);
}

Deno.test("the consumer's modules, imported in any order, load no KafkaJS before the source installs every speedup", async () => {
  const all = { installed: { record_batch: true, batch: true }, problems: [] };
  for (
    const imports of [
      [url("./kafka_source.ts")],
      [url("./mod.ts"), url("./run.ts"), url("./kafka_source.ts")],
      ["@activity/shared", "@activity/shared/runtime", url("./main.ts"), url("./pipeline.ts")],
    ]
  ) {
    assert.deepEqual(await speedupsAfter(imports), all, `${imports}`);
  }
});

Deno.test("with KafkaJS loaded before the speedups, the Batch swap is left out and the reason named", async () => {
  // KafkaJS loads its fetch decoders with its first fetch, so the record-batch one still goes in.
  for (const imports of [["kafkajs"], ["@activity/shared/kafka"]]) {
    const state = await speedupsAfter(imports);
    assert.deepEqual(state.installed, { record_batch: true, batch: false });
    assert.equal(state.problems.length, 1);
    assert.match(
      state.problems[0],
      /^batch: kafkajs\/src\/consumer\/consumerGroup\.js was loaded before the speedups, so it keeps KafkaJS's own src\/consumer\/batch\.js \(let consumer\/kafka_source\.ts load KafkaJS\)$/,
    );
    assert.match(describeFetchSpeedups(state), /^all but batch: batch: /);
  }
});

Deno.test("installing again in one process gives the same state and swaps nothing twice", async () => {
  const [first, second] = await Promise.all([
    installKafkaJsFetchSpeedups(),
    installKafkaJsFetchSpeedups(),
  ]);
  assert.equal(second, first);
  assert.equal(await installKafkaJsFetchSpeedups(), first);
});

Deno.test("with both speedups in place, KafkaJS's fetch decoding and Batches give the same objects", async () => {
  const script = fileURLToPath(new URL("../testing/consumer_kafkajs_fetch.ts", import.meta.url));
  type Printed = { speedups: unknown; messages: number; length: number; sha256: string };
  const [original, fast] = await Promise.all([
    printedJson<Printed>(["run", "-A", script]),
    printedJson<Printed>(["run", "-A", script, "--speedups"]),
  ]);
  assert.deepEqual(fast.speedups, {
    installed: { record_batch: true, batch: true },
    problems: [],
  });
  assert.equal(original.speedups, null);
  // 6 partitions of 300 events and 23 others, less 3 before a fetched offset and 6 control records.
  assert.equal(original.messages, 1929);
  assert.ok(original.length > 1_000_000);
  assert.deepEqual(fast, { ...original, speedups: fast.speedups });
});
