/**
 * Checks of the Dockerfile and .dockerignore that run without a Docker
 * engine: pinned bases, a non-root target per program, and a build context
 * that holds every file the compiled programs import or embed.
 */
import assert from "node:assert/strict";
import {
  dockerignoreMatcher,
  type DockerStage,
  isPinnedImage,
  parseCopy,
  parseDockerfile,
} from "../tools/compose_model.ts";
import {
  EMBEDDED_LIMIT_BYTES,
  embeddedFiles,
  PROGRAM_BUILDS,
  PROGRAM_RESOLUTION,
  PROGRAMS_LOCK,
  REPO_ROOT,
} from "../tools/compile.ts";

const stages = parseDockerfile(await Deno.readTextFile(`${REPO_ROOT}/Dockerfile`));
const stageNames = new Set(stages.map((stage) => stage.name));
const build = stages.find((stage) => stage.name === "build")!;

/** A stage and the stages it is built FROM, nearest first. */
function lineage(name: string): DockerStage[] {
  const chain: DockerStage[] = [];
  let stage = stages.find((candidate) => candidate.name === name);
  while (stage) {
    chain.push(stage);
    const parent = stage.from;
    stage = stages.find((candidate) => candidate.name === parent);
  }
  return chain;
}

/** The last value of an instruction along a stage's lineage (what the image ends up with). */
function effective(name: string, keyword: string): string | undefined {
  for (const stage of lineage(name)) {
    const found = stage.instructions.filter((instruction) => instruction.keyword === keyword);
    if (found.length > 0) return found.at(-1)!.args;
  }
  return undefined;
}

async function repositoryFiles(path = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${REPO_ROOT}/${path}`)) {
    const relative = path ? `${path}/${entry.name}` : entry.name;
    if (entry.name === ".git" || entry.name === "node_modules" || entry.name === "dist") continue;
    if (entry.isDirectory) files.push(...await repositoryFiles(relative));
    else files.push(relative);
  }
  return files;
}

Deno.test("the Dockerfile builds from pinned images with the Deno version CI uses", async () => {
  const external = stages.map((stage) => stage.from).filter((from) => !stageNames.has(from));
  assert.ok(external.length >= 2);
  for (const image of external) assert.ok(isPinnedImage(image), `"${image}" is not pinned`);
  // A `# syntax=` directive would pull a BuildKit frontend image by a moving tag.
  assert.doesNotMatch(await Deno.readTextFile(`${REPO_ROOT}/Dockerfile`), /^#\s*syntax=/m);
  const ciDeno = /^DENO_VERSION=(\S+)$/m.exec(await Deno.readTextFile(`${REPO_ROOT}/.ci/run`))?.[1];
  assert.equal(build.from, `denoland/deno:${ciDeno}`);
});

Deno.test("each program has a target that runs its own binary as a non-root user", () => {
  for (const program of PROGRAM_BUILDS) {
    assert.ok(stageNames.has(program.name), `no target ${program.name}`);
    const user = effective(program.name, "USER");
    assert.ok(user, `${program.name} runs as root (no USER)`);
    assert.doesNotMatch(user, /^(root|0)(:|$)/, `${program.name} runs as "${user}"`);
    const binary = `/usr/local/bin/${program.name}`;
    assert.equal(effective(program.name, "ENTRYPOINT"), JSON.stringify([binary]));
    const copies = lineage(program.name)[0].instructions
      .filter((instruction) => instruction.keyword === "COPY").map((i) => parseCopy(i.args));
    assert.deepEqual(copies, [{
      from: "build",
      sources: [`/app/dist/${program.name}`],
      destination: binary,
    }]);
    const healthcheck = effective(program.name, "HEALTHCHECK") ?? "";
    assert.ok(
      healthcheck.includes(
        `healthcheck "\${${program.metricsPortEnv}:-${program.metricsPort}}" /healthz`,
      ),
      `${program.name}: the health check does not probe its metrics port: ${healthcheck}`,
    );
  }
  // The runtime base holds nothing from the build stage but the binaries.
  const runtime = stages.find((stage) => stage.name === "runtime")!;
  assert.ok(runtime.instructions.every((i) => i.keyword !== "COPY" || !parseCopy(i.args).from));
});

Deno.test("the programs' packages, and only those, are installed from their lockfile before the sources are copied", async () => {
  const workspace = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`))
    .workspace as string[];
  const keywords = build.instructions.map((instruction) => instruction.keyword);
  const install = build.instructions.findIndex((i) =>
    i.keyword === "RUN" && /deno install --frozen/.test(i.args)
  );
  assert.ok(install > 0, "no `deno install --frozen` in the build stage");
  const words = build.instructions[install].args.split(" ");
  for (const flag of PROGRAM_RESOLUTION) assert.ok(words.includes(flag), flag);
  const lock = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/${PROGRAMS_LOCK}`));
  assert.deepEqual(
    words.slice(words.indexOf("--entrypoint") + 1).sort(),
    Object.keys(lock.specifiers).sort(),
    `the install step must fetch exactly the packages of ${PROGRAMS_LOCK}`,
  );
  const before = build.instructions.slice(0, install).filter((i) => i.keyword === "COPY")
    .flatMap((i) => parseCopy(i.args).sources);
  const expected = [
    "deno.json",
    "deno.lock",
    PROGRAMS_LOCK,
    ...workspace.map((member) => `${member.replace(/^\.\//, "")}/deno.json`),
  ];
  assert.deepEqual(before.sort(), expected.sort());
  assert.ok(keywords.lastIndexOf("RUN") > install);
  assert.equal(build.instructions.at(-1)?.args, "deno task compile");
  const tasks = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks;
  assert.match(tasks.compile, /tools\/compile\.ts/);
});

Deno.test("the build context and the build stage hold every file the programs import or embed", async () => {
  const ignored = dockerignoreMatcher(await Deno.readTextFile(`${REPO_ROOT}/.dockerignore`));
  const context = new Set((await repositoryFiles()).filter((path) => !ignored(path)));
  const fromContext = (stage: DockerStage) =>
    stage.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args))
      .filter((copy) => !copy.from).flatMap((copy) => copy.sources)
      .map((source) => source.replace(/\/$/, ""));
  for (const source of stages.flatMap(fromContext)) {
    assert.ok(
      [...context].some((path) => path === source || path.startsWith(`${source}/`)),
      `COPY ${source}: nothing of it is in the build context`,
    );
  }
  const copied = fromContext(build);
  const inStage = (path: string) =>
    context.has(path) && copied.some((source) => path === source || path.startsWith(`${source}/`));
  // The compile tool's own modules, as its module graph has them.
  const compileTool = await embeddedFiles({
    ...PROGRAM_BUILDS[0],
    entry: "tools/compile.ts",
    include: [],
  });
  assert.ok(compileTool.includes("tools/binary_size.ts"));
  const needed = ["deno.json", PROGRAMS_LOCK, ...compileTool];
  for (const program of PROGRAM_BUILDS) needed.push(...await embeddedFiles(program));
  assert.ok(needed.some((path) => path.startsWith("sql/")), "the consumer embeds no migrations");
  const missing = needed.filter((path) => !inStage(path));
  assert.deepEqual(missing, [], "files the build needs but the image build would not have");
  // Tests, docs and local state stay out of the context.
  for (const path of context) {
    assert.doesNotMatch(
      path,
      /_test\.ts$|^\.env$|^README|^e2e\/|^\.git\//,
      `${path} is in the context`,
    );
  }
});

Deno.test("the images' health check script passes only on an HTTP 200 from the program", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname === "/healthz"
        ? new Response("ok\n")
        : new Response("not ready\n", { status: 503 }),
  );
  const check = async (...args: string[]) =>
    (await new Deno.Command("bash", {
      args: [`${REPO_ROOT}/docker/healthcheck.sh`, ...args],
      stdout: "null",
      stderr: "null",
    }).output()).code;
  try {
    const port = String(server.addr.port);
    assert.equal(await check(port, "/healthz"), 0);
    assert.equal(await check(port), 0, "the path defaults to /healthz");
    assert.notEqual(await check(port, "/readyz"), 0);
  } finally {
    await server.shutdown();
  }
  assert.notEqual(await check(String(server.addr.port), "/healthz"), 0, "closed port");
});

/** Copies what a `COPY` from the build context puts at `destination` (relative to WORKDIR). */
async function copyFromContext(
  context: Set<string>,
  sources: string[],
  destination: string,
  workdir: string,
): Promise<void> {
  const intoFolder = destination.endsWith("/") || sources.length > 1;
  for (const source of sources.map((path) => path.replace(/\/$/, ""))) {
    const files = [...context].filter((path) => path === source || path.startsWith(`${source}/`));
    for (const file of files) {
      const target = file === source
        ? (intoFolder ? `${destination}/${file.split("/").at(-1)}` : destination)
        : `${destination}/${file.slice(source.length + 1)}`;
      const path = `${workdir}/${target}`.replace(/\/\.?\//g, "/");
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(`${REPO_ROOT}/${file}`, path);
    }
  }
}

Deno.test("the build stage's own steps succeed on exactly what it copies from the context", async () => {
  // Replays the build stage: its COPY lines on the context left by .dockerignore, then its
  // RUN lines with this machine's deno (only the runtime `deno compile` wraps is swapped, since
  // it cannot be downloaded here).
  const ignored = dockerignoreMatcher(await Deno.readTextFile(`${REPO_ROOT}/.dockerignore`));
  const context = new Set((await repositoryFiles()).filter((path) => !ignored(path)));
  const workdir = await Deno.makeTempDir({ prefix: "docker_build_" });
  try {
    assert.equal(build.instructions.find((i) => i.keyword === "WORKDIR")?.args, "/app");
    for (const instruction of build.instructions) {
      if (instruction.keyword === "COPY") {
        const copy = parseCopy(instruction.args);
        await copyFromContext(context, copy.sources, copy.destination, workdir);
      } else if (instruction.keyword === "RUN") {
        const run = await new Deno.Command("sh", {
          args: ["-c", instruction.args],
          cwd: workdir,
          env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
        assert.equal(run.success, true, `RUN ${instruction.args} failed:\n${output}`);
      }
    }
    const runtime = (await Deno.stat(Deno.execPath())).size;
    for (const program of PROGRAM_BUILDS) {
      const binary = await Deno.stat(`${workdir}/dist/${program.name}`);
      assert.ok(binary.isFile && binary.size > runtime, `dist/${program.name}`);
      assert.ok(binary.size - runtime <= EMBEDDED_LIMIT_BYTES, `dist/${program.name} is not slim`);
    }
  } finally {
    await Deno.remove(workdir, { recursive: true });
  }
});
