/**
 * What the producer's and the consumer's KafkaJS speedups share: how they
 * reach KafkaJS's modules (the real module cache, or a fake one in tests),
 * the pinned release, the shape checks their guards make, and swapping whole
 * modules in the cache. An edge module: it loads nothing of KafkaJS by itself
 * (no import of it here), so the speedups can be installed before KafkaJS
 * loads the modules they replace.
 *
 * @module
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The KafkaJS release the speedups are made for (the one `deno.json` pins). */
export const PINNED_KAFKAJS_VERSION = "2.2.4";

/** How the speedups reach KafkaJS's modules. */
export interface KafkaJsModules {
  /** The installed KafkaJS's version, read from its package.json. */
  version(): string | undefined;
  /** One of KafkaJS's modules by its path in the package ("src/..."); throws when it is missing. */
  load(path: string): unknown;
  /** Whether that module has been loaded (by KafkaJS or by `load`). */
  isLoaded(path: string): boolean;
  /** Makes every later load of that already loaded module give `exports`. */
  replace(path: string, exports: unknown): void;
}

/** KafkaJS as this process loads it: its module cache, through Node's `require`. */
export function nodeKafkaJsModules(): KafkaJsModules {
  const require = createRequire(import.meta.url);
  // Resolved by Deno rather than `require.resolve`, which probes folders (and so needs read
  // permissions the programs do not have).
  const file = (path: string) => fileURLToPath(import.meta.resolve(`kafkajs/${path}`));
  const cache = () => require.cache as Record<string, { exports: unknown } | undefined>;
  return {
    version: () => (require(file("package.json")) as { version?: string }).version,
    load: (path) => require(file(path)),
    isLoaded: (path) => cache()[file(path)] !== undefined,
    replace(path, exports) {
      const entry = cache()[file(path)];
      if (!entry) throw new Error(`kafkajs/${path} is not loaded`);
      entry.exports = exports;
    },
  };
}

/** Adds a problem unless the installed KafkaJS is the pinned release. */
export function checkVersion(modules: KafkaJsModules, problems: string[]): void {
  let version: string | undefined;
  try {
    version = modules.version();
  } catch (error) {
    problems.push(`cannot read KafkaJS's version: ${describeError(error)}`);
    return;
  }
  if (version === undefined) problems.push("KafkaJS's package.json names no version");
  else if (version !== PINNED_KAFKAJS_VERSION) {
    problems.push(`KafkaJS is ${version}, the speedups are made for ${PINNED_KAFKAJS_VERSION}`);
  }
}

/** A KafkaJS module's exports, or undefined with a problem when it cannot be loaded. */
export function loadModule(modules: KafkaJsModules, path: string, problems: string[]): unknown {
  try {
    return modules.load(path);
  } catch (error) {
    problems.push(`kafkajs/${path} cannot be loaded: ${describeError(error)}`);
    return undefined;
  }
}

/** A KafkaJS module that exports a function, or undefined with a problem. */
export function loadFunction(modules: KafkaJsModules, path: string, problems: string[]): unknown {
  const loaded = loadModule(modules, path, problems);
  if (typeof loaded === "function") return loaded;
  if (loaded !== undefined) {
    problems.push(`kafkajs/${path} exports ${typeof loaded}, not a function`);
  }
  return undefined;
}

/** Adds a problem unless `value` is a function declaring `arity` parameters. */
export function expectArity(what: string, value: unknown, arity: number, problems: string[]): void {
  if (typeof value !== "function") problems.push(`${what} is ${typeof value}, not a function`);
  else if (value.length !== arity) {
    problems.push(`${what} takes ${value.length} parameters, not ${arity}`);
  }
}

/** An error's message (or the thrown value as text). */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A KafkaJS module swapped whole, and the one module that loads it (too late once it has). */
export interface ModuleSwap {
  readonly module: string;
  readonly loadedBy: string;
}

/**
 * Swaps each module for its replacement unless the module that loads it has been loaded
 * already; `owner` names the code that should load KafkaJS (for the problem's sentence).
 */
export function swapModules<Name extends string>(
  modules: KafkaJsModules,
  swaps: Readonly<Record<Name, ModuleSwap>>,
  options: { replacements: Readonly<Record<Name, unknown>>; owner: string },
): { installed: Partial<Record<Name, true>>; problems: string[] } {
  const installed: Partial<Record<Name, true>> = {};
  const problems: string[] = [];
  for (const [name, swap] of Object.entries(swaps) as [Name, ModuleSwap][]) {
    if (modules.isLoaded(swap.loadedBy)) {
      problems.push(
        `${name}: kafkajs/${swap.loadedBy} was loaded before the speedups, so it keeps ` +
          `KafkaJS's own ${swap.module} (let ${options.owner} load KafkaJS)`,
      );
      continue;
    }
    try {
      modules.replace(swap.module, options.replacements[name]);
      installed[name] = true;
    } catch (error) {
      problems.push(`${name}: kafkajs/${swap.module} could not be swapped: ${String(error)}`);
    }
  }
  return { installed, problems };
}

/** Speedups in a few words for a log line: "all", "none: ..." or "all but x: ...". */
export function describeInstalled(
  names: readonly string[],
  state: { installed: Readonly<Record<string, boolean>>; problems: readonly string[] },
): string {
  const off = names.filter((name) => !state.installed[name]);
  const why = state.problems.length > 0 ? `: ${state.problems.join("; ")}` : "";
  if (off.length === 0) return "all";
  return off.length === names.length ? `none${why}` : `all but ${off.join(", ")}${why}`;
}
