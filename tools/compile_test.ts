/**
 * What `deno task compile` (and so the Docker build) needs, checked where
 * `deno compile` cannot download its runtime: each entry point's module graph
 * is complete, the compiler embeds the migrations into the consumer, and the
 * consumer finds them in a copy that holds only what the binary embeds.
 */
import assert from "node:assert/strict";
import {
  compileArgs,
  compiledPermissions,
  embeddedFiles,
  PROGRAM_BUILDS,
  programBuild,
  REPO_ROOT,
  runArgs,
  taskPermissions,
} from "./compile.ts";

const decoder = new TextDecoder();

async function deno(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = decoder.decode(result.stdout);
  return { ...result, stdout, output: stdout + decoder.decode(result.stderr) };
}

Deno.test("dev and the binaries grant each program the permissions of its own deno task", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks;
  for (const build of PROGRAM_BUILDS) {
    if (tasks[build.name] === undefined) continue;
    assert.deepEqual(
      taskPermissions(tasks[build.name], build.entry),
      [...build.permissions],
      `deno task ${build.name} is not "deno run <permission flags> ${build.entry}"`,
    );
  }
  assert.deepEqual(taskPermissions("deno run --allow-net -A x.ts", "x.ts"), undefined);
  assert.deepEqual(taskPermissions("deno run --allow-net y.ts", "x.ts"), undefined);
  assert.deepEqual(taskPermissions(undefined, "x.ts"), undefined);
  assert.deepEqual(taskPermissions("deno run --allow-env=A*,B --ignore-env x.ts", "x.ts"), [
    "--allow-env=A*,B",
    "--ignore-env",
  ]);
});

Deno.test("compile and run arguments share permissions and the consumer embeds sql", () => {
  const consumer = programBuild("consumer");
  const compile = compileArgs(consumer, { outDir: "dist" });
  assert.deepEqual(compile.slice(-3), ["--output", "dist/consumer", "consumer/main.ts"]);
  assert.deepEqual(compile.slice(compile.indexOf("--include"), compile.indexOf("--include") + 2), [
    "--include",
    "sql",
  ]);
  const run = runArgs(consumer, { watch: true });
  assert.equal(run[1], "--watch=sql");
  for (const permission of consumer.permissions) {
    assert.ok(run.includes(permission), permission);
    // A read limited to sql/ cannot name the binary's embedded copy: compiled, it is unlimited.
    const compiled = permission.startsWith("--allow-read=") ? "--allow-read" : permission;
    assert.ok(compile.includes(compiled), compiled);
  }
  assert.deepEqual(
    compiledPermissions(consumer).filter((flag) => flag.startsWith("--allow-read")),
    [
      "--allow-read",
    ],
  );
  assert.deepEqual(runArgs(programBuild("producer"), { watch: true })[1], "--watch");
  assert.ok(!compileArgs(programBuild("producer"), { outDir: "d" }).includes("--include"));
});

for (const build of PROGRAM_BUILDS) {
  Deno.test(`the ${build.name} entry point type-checks and bundles offline into one file`, async () => {
    const check = await deno(["check", "--frozen", build.entry]);
    assert.equal(check.success, true, check.output);
    const out = await Deno.makeTempDir({ prefix: `bundle_${build.name}_` });
    try {
      const bundle = await deno([
        "bundle",
        "--frozen",
        "--platform=deno",
        "--output",
        `${out}/${build.name}.js`,
        build.entry,
      ]);
      assert.equal(bundle.success, true, bundle.output);
      assert.ok((await Deno.stat(`${out}/${build.name}.js`)).size > 10_000);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

Deno.test("deno compile embeds the migrations into the consumer and nothing of sql into the producer", async () => {
  // The compiler runs for real; only the runtime it wraps the program in is
  // replaced by this deno (the real one, denort, cannot be downloaded here).
  const out = await Deno.makeTempDir({ prefix: "compile_" });
  try {
    for (const build of PROGRAM_BUILDS) {
      const compiled = await deno(compileArgs(build, { outDir: out }), {
        env: { DENORT_BIN: Deno.execPath() },
      });
      assert.equal(compiled.success, true, compiled.output);
      const listing = compiled.output.slice(compiled.output.indexOf("Embedded Files"));
      // A folder shows as "├─┬ name" (files listed) or "├── name/*" (summed up).
      assert.match(listing, new RegExp(`[├└]─[─┬] ${build.entry.split("/")[0]}[ /]`), listing);
      if (build.include.includes("sql")) assert.match(listing, /[├└]─[─┬] sql[ /]/, listing);
      else assert.doesNotMatch(listing, /─[─┬] sql[ /]/, listing);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** Copies the consumer's embedded files (and the workspace config) into a fresh folder. */
async function embeddedCopy(options: { withoutInclude?: boolean } = {}): Promise<string> {
  const consumer = programBuild("consumer");
  const folder = await Deno.makeTempDir({ prefix: "embedded_" });
  const files = await embeddedFiles(
    options.withoutInclude ? { ...consumer, include: [] } : consumer,
  );
  const workspace = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`))
    .workspace as string[];
  const config = ["deno.json", "deno.lock", ...workspace.map((member) => `${member}/deno.json`)];
  for (const path of [...files, ...config]) {
    const target = new URL(path, `file://${folder}/`).pathname;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${REPO_ROOT}/${path}`, target);
  }
  return folder;
}

async function loadMigrationsIn(folder: string) {
  await Deno.writeTextFile(
    `${folder}/probe.ts`,
    'import { loadMigrations } from "./consumer/migrations.ts";\n' +
      "console.log(JSON.stringify((await loadMigrations()).map((m) => m.name)));\n",
  );
  return await deno(
    ["run", "--node-modules-dir=none", "--cached-only", "--no-lock", "--allow-read", "probe.ts"],
    { cwd: folder },
  );
}

Deno.test("the consumer finds every migration in a copy holding only what its binary embeds", async () => {
  const expected: string[] = [];
  for await (const entry of Deno.readDir(`${REPO_ROOT}/sql`)) {
    if (entry.name.endsWith(".sql")) expected.push(entry.name);
  }
  const files = await embeddedFiles(programBuild("consumer"));
  assert.ok(
    files.includes("consumer/migrations.ts"),
    "migrations.ts is not in the consumer's graph",
  );
  const folder = await embeddedCopy();
  try {
    const probe = await loadMigrationsIn(folder);
    assert.equal(probe.success, true, probe.output);
    assert.deepEqual(JSON.parse(probe.stdout), expected.sort());
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
  // Without --include sql the same copy has no migrations: the check can fail.
  const bare = await embeddedCopy({ withoutInclude: true });
  try {
    const probe = await loadMigrationsIn(bare);
    assert.equal(probe.success, false);
    assert.match(probe.output, /MigrationError: Cannot read the migrations/);
  } finally {
    await Deno.remove(bare, { recursive: true });
  }
});
