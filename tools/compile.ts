/**
 * `deno task compile`: builds the producer and the consumer into single
 * binaries in `dist/` (the Dockerfile runs the same task). The consumer
 * carries the SQL migrations inside it (`--include sql`) and applies them
 * with `consumer migrate` (compose's one-shot `migrate` service).
 *
 * Each binary embeds only what its program imports: npm packages come from
 * Deno's global cache pinned by `deno.programs.lock` (the programs' own
 * packages, nothing of the tests'), so the whole `node_modules` folder is
 * never embedded. The task prints each binary's embedded size (the binary
 * less the runtime it wraps) and fails above {@link EMBEDDED_LIMIT_BYTES}.
 *
 * `deno compile` downloads its runtime (`denort`) on first use; without
 * network, point `DENORT_BIN` at a `denort` binary of the same Deno version
 * (or, to measure sizes only, at `deno` itself).
 *
 * This module is also the one place that says how each program is run:
 * entry point, permissions, embedded files and metrics port, for
 * `deno task dev` and the checks in `tools/compile_test.ts`.
 */
import { readFlags } from "./cli_flags.ts";
import { fileURLToPath } from "node:url";
import {
  describeEmbeddedSize,
  type EmbeddedSize,
  embeddedSize,
  runtimeSize,
  withinLimit,
} from "./binary_size.ts";

/** How one program is built and run. */
export interface ProgramBuild {
  /** The binary's name, the compose service and the Dockerfile target. */
  readonly name: "producer" | "consumer";
  /** The entry module, relative to the repository root. */
  readonly entry: string;
  /** Permission flags from source (the binary widens path-limited reads). */
  readonly permissions: readonly string[];
  /** Files and folders, relative to the root, that the program reads at run time. */
  readonly include: readonly string[];
  /** The default port of `/metrics`, `/healthz` and `/readyz`. */
  readonly metricsPort: number;
  /** The variable that changes that port. */
  readonly metricsPortEnv: string;
}

/** The repository root (this file lives in `tools/`). */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** The lockfile of the programs' npm packages: a subset of `deno.lock`, without test-only ones. */
export const PROGRAMS_LOCK = "deno.programs.lock";

/**
 * How the programs (and the tools that run them) resolve npm packages: from
 * Deno's global cache, pinned by {@link PROGRAMS_LOCK}, so running one never
 * fills `node_modules` with the tests' packages (testcontainers, the Grafana
 * SDK, ...) and a binary embeds only the packages its graph reaches.
 */
export const PROGRAM_RESOLUTION: readonly string[] = [
  "--node-modules-dir=none",
  `--lock=${PROGRAMS_LOCK}`,
];

/** The most a binary may embed besides the runtime (slim binaries). */
export const EMBEDDED_LIMIT_BYTES = 10_000_000;

/**
 * The permission flags of a program's own task (`deno task producer`,
 * `deno task consumer`) in deno.json, when it is `deno run <flags> <entry>`;
 * so dev and the binaries run with what the program's owners granted.
 */
export function taskPermissions(
  task: string | undefined,
  entry: string,
): string[] | undefined {
  const words = task?.trim().split(/\s+/) ?? [];
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== entry) return undefined;
  const flags = words.slice(2, -1).filter((flag) => !PROGRAM_RESOLUTION.includes(flag));
  return flags.every((flag) =>
      /^--(allow|deny)-[a-z]+(=\S+)?$|^--ignore-env(=\S+)?$|^--v8-flags=\S+$/.test(flag)
    )
    ? flags
    : undefined;
}

const TASKS: Record<string, string> =
  JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)).tasks ?? {};

/** The two programs, as `deno task compile` and `deno task dev` run them. */
export const PROGRAM_BUILDS: readonly ProgramBuild[] = [
  {
    name: "producer",
    entry: "producer/main.ts",
    permissions: taskPermissions(TASKS.producer, "producer/main.ts") ??
      ["--allow-net", "--allow-env"],
    include: [],
    metricsPort: 9464,
    metricsPortEnv: "PRODUCER_METRICS_PORT",
  },
  {
    name: "consumer",
    entry: "consumer/main.ts",
    // Reads its migrations (sql/); nothing else on disk.
    permissions: taskPermissions(TASKS.consumer, "consumer/main.ts") ??
      ["--allow-net", "--allow-env", "--allow-read=sql"],
    include: ["sql"],
    metricsPort: 9465,
    metricsPortEnv: "CONSUMER_METRICS_PORT",
  },
];

/**
 * The permissions baked into a binary: the same, except that reads limited to
 * paths become unlimited, because an embedded file lives under the binary's
 * own virtual root, not under the path the flag names. The images hold
 * nothing else to read.
 */
export function compiledPermissions(build: ProgramBuild): string[] {
  return build.permissions.map((flag) => flag.startsWith("--allow-read=") ? "--allow-read" : flag);
}

/** The program build named `name`. */
export function programBuild(name: ProgramBuild["name"]): ProgramBuild {
  const build = PROGRAM_BUILDS.find((candidate) => candidate.name === name);
  if (!build) throw new Error(`No program named "${name}"`);
  return build;
}

/** The `deno compile` arguments that build `build` into `outDir`. */
export function compileArgs(
  build: ProgramBuild,
  options: { outDir: string; target?: string },
): string[] {
  return [
    "compile",
    "--frozen",
    ...PROGRAM_RESOLUTION,
    "--exclude-unused-npm",
    ...compiledPermissions(build),
    ...build.include.flatMap((path) => ["--include", path]),
    ...(options.target ? ["--target", options.target] : []),
    "--output",
    `${options.outDir}/${build.name}`,
    build.entry,
  ];
}

/** The `deno run` arguments that run `build` from source, optionally restarting on changes. */
export function runArgs(build: ProgramBuild, options: { watch?: boolean } = {}): string[] {
  // Embedded files are not modules, so --watch is told about them.
  const watch = options.watch
    ? [build.include.length > 0 ? `--watch=${build.include.join(",")}` : "--watch"]
    : [];
  return ["run", ...watch, ...PROGRAM_RESOLUTION, ...build.permissions, build.entry];
}

/**
 * The repository files `deno compile` puts into the binary of `build`, relative
 * to the root: every local module of its graph (from `deno info`) and every
 * file under its `include` paths. npm packages come on top.
 */
export async function embeddedFiles(build: ProgramBuild): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ...PROGRAM_RESOLUTION, build.entry],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno info ${build.entry} failed: ${new TextDecoder().decode(stderr)}`);
  }
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { local?: string; error?: string; specifier: string }[];
  };
  const broken = graph.modules.filter((module) => module.error);
  if (broken.length > 0) {
    throw new Error(`${build.entry} has unresolved imports: ${JSON.stringify(broken)}`);
  }
  const files = graph.modules.flatMap((module) =>
    // npm packages come from Deno's cache (and never from a node_modules folder here).
    module.local?.startsWith(`${REPO_ROOT}/`) && !module.local.includes("/node_modules/")
      ? [module.local.slice(REPO_ROOT.length + 1)]
      : []
  );
  for (const path of build.include) files.push(...await filesUnder(path));
  return [...new Set(files)].sort();
}

async function filesUnder(path: string): Promise<string[]> {
  const info = await Deno.stat(`${REPO_ROOT}/${path}`);
  if (info.isFile) return [path];
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${REPO_ROOT}/${path}`)) {
    files.push(...await filesUnder(`${path}/${entry.name}`));
  }
  return files;
}

/** Deno's cache folder, as `deno info` reports it. */
async function denoDir(): Promise<string> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

async function main(args: string[]): Promise<number> {
  const values = readFlags(args, {
    out: { type: "string", default: "dist" },
    target: { type: "string" },
    only: { type: "string", multiple: true },
    "max-embedded-mb": { type: "string", default: String(EMBEDDED_LIMIT_BYTES / 1e6) },
    help: { type: "boolean", short: "h" },
  });
  if (!values) return 2;
  if (values.help) {
    console.log(
      "Usage: deno task compile [--out dist] [--target <triple>] [--only producer|consumer]\n" +
        "                         [--max-embedded-mb 10]",
    );
    return 0;
  }
  const names = new Set(PROGRAM_BUILDS.map((build) => build.name as string));
  const unknown = (values.only ?? []).filter((name) => !names.has(name));
  if (unknown.length > 0) {
    console.error(
      `Cannot read arguments: "--only" must be one of ${[...names].join(", ")}: ` +
        `current value is "${unknown[0]}"`,
    );
    return 2;
  }
  const limitMb = Number(values["max-embedded-mb"]);
  if (!(limitMb > 0)) {
    console.error(
      `Cannot read arguments: "--max-embedded-mb" must be a positive number: ` +
        `current value is "${values["max-embedded-mb"]}"`,
    );
    return 2;
  }
  const chosen = PROGRAM_BUILDS.filter((build) =>
    values.only === undefined || values.only.includes(build.name)
  );
  const outDir = values.out!.startsWith("/") ? values.out! : `${REPO_ROOT}/${values.out}`;
  const sizes: EmbeddedSize[] = [];
  for (const build of chosen) {
    const started = performance.now();
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(build, { outDir, target: values.target }),
      cwd: REPO_ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      const hint = Deno.env.get("DENORT_BIN") ? "" : ": on first use deno compile downloads " +
        `its runtime (denort ${Deno.version.deno}); without network, set DENORT_BIN to one`;
      console.error(`deno compile failed for ${build.name} (exit code ${code})${hint}`);
      return 1;
    }
    const size = (await Deno.stat(`${outDir}/${build.name}`)).size;
    console.error(
      `Built ${outDir}/${build.name} (${(size / 1e6).toFixed(1)} MB) in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const runtime = await runtimeSize({
      denortBin: Deno.env.get("DENORT_BIN"),
      denoDir: await denoDir(),
      version: Deno.version.deno,
      target: values.target ?? Deno.build.target,
    });
    if (!runtime) {
      console.error(
        `Cannot measure what ${build.name} embeds: no runtime to compare with (neither ` +
          `DENORT_BIN nor a cached denort ${Deno.version.deno} for ${
            values.target ?? Deno.build.target
          })`,
      );
      return 1;
    }
    sizes.push(embeddedSize(build.name, size, { runtime, limitBytes: limitMb * 1e6 }));
  }
  // The sizes last, together, so they are not lost among the file listings.
  for (const size of sizes) console.error(describeEmbeddedSize(size));
  const above = sizes.filter((size) => !withinLimit(size));
  if (above.length > 0) {
    console.error(
      `Binaries too large: ${above.map((size) => size.name).join(", ")} embed more than ` +
        `${limitMb} MB besides the runtime; see the listings above for what they embed`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
