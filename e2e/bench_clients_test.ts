import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { testServices } from "../testing/services.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("the Kafka client comparison publishes and reads the same messages with every client", async () => {
  const { brokers } = await testServices();
  const out = await Deno.makeTempDir({ prefix: "bench_clients_" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["task", "bench:clients", "--count=2000", "--repetitions=1", `--out=${out}`],
      cwd: REPO_ROOT,
      env: { KAFKA_BROKERS: brokers.join(","), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.equal(run.code, 0, `${stdout}\n${new TextDecoder().decode(run.stderr)}`);
    assert.match(stdout, /produce\s+platformatic\s+1\/1/);
    assert.match(stdout, /drain\s+platformatic\s+1\/1/);
    const [file] = [...Deno.readDirSync(out)].map((entry) => entry.name);
    const report = JSON.parse(await Deno.readTextFile(`${out}/${file}`));
    assert.deepEqual(report.checks, {
      sameMessagesEverywhere: true,
      samePartitionCountsEverywhere: true,
    });
    const runs = report.runs as { mode: string; client: string; count: number }[];
    assert.deepEqual(
      runs.map((run) => `${run.mode} ${run.client} ${run.count}`).sort(),
      [
        "drain kafkajs 2000",
        "drain platformatic 2000",
        "produce kafkajs 2000",
        "produce kafkajs-patched 2000",
        "produce platformatic 2000",
      ],
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
