import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

/** The modules `deno info` lists, with each one's static and dynamic imports resolved. */
interface ModuleGraph {
  readonly staticImports: Map<string, string[]>;
  readonly dynamicImports: Map<string, string[]>;
}

async function moduleGraph(entry: URL): Promise<ModuleGraph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", fileURLToPath(entry)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { isDynamic?: boolean; code?: { specifier: string } }[];
    }[];
  };
  const graph: ModuleGraph = { staticImports: new Map(), dynamicImports: new Map() };
  for (const module of info.modules) {
    const deps = module.dependencies ?? [];
    const resolved = (dynamic: boolean) =>
      deps.filter((dep) => Boolean(dep.isDynamic) === dynamic && dep.code)
        .map((dep) => dep.code!.specifier);
    graph.staticImports.set(module.specifier, resolved(false));
    graph.dynamicImports.set(module.specifier, resolved(true));
  }
  return graph;
}

/** Modules loaded when `roots` are loaded (static imports only). */
function staticClosure(graph: ModuleGraph, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...(graph.staticImports.get(next) ?? []));
  }
  return seen;
}

const WORKER = new URL("./kafka_clients_worker.ts", import.meta.url);
const PLAIN = new URL("./kafkajs_plain_client.ts", import.meta.url).href;
const PLATFORMATIC = new URL("./platformatic_client.ts", import.meta.url).href;
const PATCHED = new URL("../producer/kafka_sink.ts", import.meta.url).href;
const SPEEDUPS = ["kafkajs_check.ts", "kafkajs_speedups.ts", "kafkajs_fast_parts.ts"];

Deno.test("the unpatched KafkaJS run never loads the producer's KafkaJS speedups", async () => {
  const graph = await moduleGraph(WORKER);
  assert.deepEqual(
    graph.dynamicImports.get(WORKER.href)?.sort(),
    [PLATFORMATIC, PLAIN, PATCHED].sort(),
    "the clients are loaded on demand, each in its own run",
  );
  const loaded = [...staticClosure(graph, [WORKER.href, PLAIN])];
  for (const speedup of SPEEDUPS) {
    assert.equal(loaded.some((specifier) => specifier.endsWith(`/producer/${speedup}`)), false);
  }
  // The check can fail: the patched run's graph does reach them.
  const patched = [...staticClosure(graph, [WORKER.href, PATCHED])];
  assert.ok(patched.some((specifier) => specifier.endsWith("/producer/kafkajs_speedups.ts")));
});
