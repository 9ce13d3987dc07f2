/**
 * What `deno task compile` (and so the Docker build) needs, checked where
 * `deno compile` cannot download its runtime: each entry point's module graph
 * is complete, the compiler embeds the migrations into the consumer, and the
 * consumer finds them in a copy that holds only what the binary embeds.
 */
import assert from "node:assert/strict";
import {
  describeEmbeddedSize,
  embeddedSize,
  runtimeSize,
  withinLimit,
  zipEntrySize,
} from "./binary_size.ts";
import {
  compileArgs,
  compiledPermissions,
  EMBEDDED_LIMIT_BYTES,
  embeddedFiles,
  PROGRAM_BUILDS,
  PROGRAM_RESOLUTION,
  programBuild,
  PROGRAMS_LOCK,
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
  for (const flag of PROGRAM_RESOLUTION) {
    assert.ok(run.includes(flag) && compile.includes(flag), flag);
  }
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

/** The npm packages (`name@version`) a module graph reaches, from `deno info`. */
async function npmPackagesOf(entry: string): Promise<string[]> {
  const info = await deno(["info", "--json", ...PROGRAM_RESOLUTION, entry]);
  assert.equal(info.success, true, info.output);
  const graph = JSON.parse(info.stdout) as {
    modules: { kind?: string; npmPackage?: string }[];
    npmPackages?: Record<string, { dependencies: string[] }>;
  };
  // The packages the graph imports, and what they depend on in turn.
  const reached = new Set<string>();
  const visit = (id: string) => {
    if (reached.has(id)) return;
    reached.add(id);
    for (const dependency of graph.npmPackages?.[id]?.dependencies ?? []) visit(dependency);
  };
  for (const module of graph.modules) if (module.npmPackage) visit(module.npmPackage);
  return [...new Set([...reached].map((id) => id.replace(/_.*$/, "")))].sort();
}

Deno.test("deno compile embeds the migrations into the consumer and of npm only what each program imports", async () => {
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
      // Never the workspace's node_modules (testcontainers, the Grafana SDK, ...).
      assert.doesNotMatch(listing, /─[─┬] node_modules/, listing);
      const embedded = [...listing.matchAll(/([@\w./-]+)\/(\d+\.\d+\.\d+)\/\*/g)]
        .map((match) => `${match[1].split(" ").at(-1)}@${match[2]}`).sort();
      assert.deepEqual(embedded, await npmPackagesOf(build.entry), listing);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task compile prints each binary's embedded size and fails above the limit", async () => {
  const out = await Deno.makeTempDir({ prefix: "compile_task_" });
  const env = { DENORT_BIN: Deno.execPath() };
  try {
    const task = await deno(["task", "compile", "--out", out], { env });
    assert.equal(task.success, true, task.output);
    const runtime = (await Deno.stat(Deno.execPath())).size;
    for (const build of PROGRAM_BUILDS) {
      const line = new RegExp(
        `${build.name} embeds ([\\d.]+) MB besides the runtime, within the limit of 10\\.00 MB`,
      ).exec(task.output);
      assert.ok(line, task.output);
      const measured = (await Deno.stat(`${out}/${build.name}`)).size - runtime;
      assert.equal(Number(line[1]), Number((measured / 1e6).toFixed(2)));
      assert.ok(measured <= EMBEDDED_LIMIT_BYTES);
      console.log(`${build.name}: ${(measured / 1e6).toFixed(2)} MB embedded besides the runtime`);
    }
    const strict = await deno(
      ["task", "compile", "--out", out, "--only", "producer", "--max-embedded-mb", "1"],
      { env },
    );
    assert.equal(strict.success, false);
    assert.match(strict.output, /producer embeds [\d.]+ MB besides the runtime, ABOVE the limit/);
    assert.match(strict.output, /Binaries too large: producer embed more than 1 MB/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the programs' lockfile holds exactly the packages their graphs reach, pinned as in deno.lock", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks as Record<
    string,
    string
  >;
  // Every task run under the programs' lockfile, and what it runs.
  const entries = Object.values(tasks)
    .filter((task) => PROGRAM_RESOLUTION.every((flag) => task.includes(flag)))
    .map((task) => task.trim().split(/\s+/).at(-1)!);
  for (const build of PROGRAM_BUILDS) {
    assert.ok(entries.includes(build.entry), `deno task ${build.name} does not use the lockfile`);
  }
  assert.ok(entries.includes("tools/dev.ts") && entries.includes("tools/compile.ts"));
  const reached = new Set<string>();
  for (const entry of entries) {
    for (const id of await npmPackagesOf(entry)) reached.add(id);
  }
  const programs = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/${PROGRAMS_LOCK}`));
  const workspace = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.lock`));
  assert.deepEqual(
    Object.keys(programs.npm).sort(),
    [...reached].sort(),
    `${PROGRAMS_LOCK} is out of date: run deno task lock:programs`,
  );
  for (const [id, entry] of Object.entries(programs.npm)) {
    assert.deepEqual(entry, workspace.npm[id], `${id} differs from deno.lock`);
  }
  // The task that writes the lockfile names every entry point that uses it.
  const regenerate = tasks["lock:programs"].split(/\s+/);
  for (const entry of entries) assert.ok(regenerate.includes(entry), `lock:programs: ${entry}`);
});

Deno.test("the embedded size is the binary less the runtime, read from DENORT_BIN or denort's zip", async () => {
  const size = embeddedSize("x", 12_500_000, {
    runtime: { bytes: 2_000_000, source: "test" },
    limitBytes: 10_000_000,
  });
  assert.equal(size.embeddedBytes, 10_500_000);
  assert.equal(withinLimit(size), false);
  assert.match(describeEmbeddedSize(size), /x embeds 10\.50 MB besides the runtime, ABOVE/);
  // A zip like the one deno compile downloads (made by the JDK's jar tool).
  const folder = await Deno.makeTempDir({ prefix: "denort_zip_" });
  try {
    await Deno.writeFile(`${folder}/denort`, new Uint8Array(123_457).fill(7));
    const dl = `${folder}/dir/dl/release/v${Deno.version.deno}`;
    await Deno.mkdir(dl, { recursive: true });
    const zip = `${dl}/denort-${Deno.build.target}.zip`;
    const jar = await new Deno.Command("jar", { args: ["cfM", zip, "-C", folder, "denort"] })
      .output();
    assert.equal(jar.success, true, new TextDecoder().decode(jar.stderr));
    assert.equal(zipEntrySize(await Deno.readFile(zip), "denort"), 123_457);
    assert.equal(zipEntrySize(await Deno.readFile(zip), "deno"), undefined);
    const options = { denoDir: `${folder}/dir`, version: Deno.version.deno };
    assert.deepEqual(await runtimeSize({ ...options, target: Deno.build.target }), {
      bytes: 123_457,
      source: zip,
    });
    assert.equal(await runtimeSize({ ...options, target: "other-target" }), undefined);
    assert.equal(
      (await runtimeSize({ ...options, target: "x", denortBin: Deno.execPath() }))?.bytes,
      (await Deno.stat(Deno.execPath())).size,
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
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
    const target = `${folder}/${path}`;
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

Deno.test("a program's task in a fresh clone installs and prints nothing of the tests' packages", async () => {
  const listed = await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: REPO_ROOT })
    .output();
  const folder = await Deno.makeTempDir({ prefix: "fresh_clone_" });
  try {
    for (const path of decoder.decode(listed.stdout).split("\0").filter(Boolean)) {
      await Deno.mkdir(`${folder}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.copyFile(`${REPO_ROOT}/${path}`, `${folder}/${path}`);
    }
    const help = await deno(["task", "producer", "--help"], { cwd: folder });
    assert.equal(help.success, true, help.output);
    // deno says nothing but the task's own line; the program's help follows.
    const stderr = help.output.slice(help.stdout.length).split("\n").filter((line) => line.trim());
    assert.equal(stderr.length, 1, stderr.join("\n"));
    assert.match(stderr[0], /^Task producer /);
    assert.match(help.stdout, /^producer: /);
    assert.doesNotMatch(help.output, /Initialize|Ignored build scripts|testcontainers/);
    await assert.rejects(Deno.stat(`${folder}/node_modules`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
