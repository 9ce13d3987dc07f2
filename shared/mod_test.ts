import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** The only packages the pure core may import. */
const PURE_IMPORTS = new Set(["zod", "node:util"]);

async function moduleGraph(entry: URL): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const url = pending.pop()!;
    if (sources.has(url.href)) continue;
    const source = await Deno.readTextFile(fileURLToPath(url));
    sources.set(url.href, source);
    for (
      const [, specifier] of source.matchAll(/^(?:import|export)\s(?:[^;"]*?\sfrom\s)?"([^"]+)";/gm)
    ) {
      if (specifier.startsWith(".")) pending.push(new URL(specifier, url));
      else sources.set(specifier, "");
    }
  }
  return sources;
}

Deno.test("the pure core imports no I/O: no Deno APIs, no Kafka or PostgreSQL client", async () => {
  const graph = await moduleGraph(new URL("./mod.ts", import.meta.url));
  const packages = [...graph.keys()].filter((key) => !key.startsWith("file:"));
  assert.deepEqual(packages.filter((name) => !PURE_IMPORTS.has(name)), []);
  for (const [href, source] of graph) {
    if (!href.startsWith("file:")) continue;
    assert.doesNotMatch(source, /\bDeno\.(?!test\b)/, `${href} uses a Deno API`);
  }
  assert.ok(graph.size >= 6, "the walk found the core's modules");
});
