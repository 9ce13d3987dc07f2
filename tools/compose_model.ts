/**
 * Small, pure readers of the container files, for the checks that run where
 * no Docker engine does: compose variables, short volume/port syntax, image
 * pinning, Dockerfile stages and `.dockerignore` matching.
 */
import { parse } from "yaml";

/** A compose service, as far as the checks read it. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  expose?: (string | number)[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string | string[] };
  restart?: string;
  profiles?: string[];
  container_name?: string;
  command?: string[];
  stop_grace_period?: string;
}

/** A compose file, as far as the checks read it. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Parses a compose file (YAML with merge keys). */
export function parseCompose(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

/** A `${NAME}` / `${NAME:-default}` reference in a compose file. */
export interface VariableUse {
  readonly name: string;
  /** The default after `:-` or `-`, absent for a bare `${NAME}`. */
  readonly fallback?: string;
}

/** Every variable reference in a compose file's text, in order (`$$` escapes are skipped). */
export function composeVariableUses(text: string): VariableUse[] {
  const uses: VariableUse[] = [];
  const pattern =
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  for (const match of text.matchAll(pattern)) {
    if (match[0] === "$$") continue;
    const name = match[1] ?? match[3];
    const hasDefault = match[1] !== undefined && /^\$\{[A-Za-z0-9_]+:?-/.test(match[0]);
    uses.push(hasDefault ? { name, fallback: match[2] } : { name });
  }
  return uses;
}

/** A short-syntax volume `source:target[:mode]`. */
export function parseVolume(spec: string): { source: string; target: string; mode?: string } {
  const [source, target, mode] = spec.split(":");
  return { source, target, mode };
}

/** Whether a volume source is a path on the host (else a named volume). */
export function isBindSource(source: string): boolean {
  return source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
}

/** A short-syntax port `[ip:]hostPort:containerPort` (after interpolation). */
export function parsePort(spec: string): { hostIp?: string; hostPort?: string; container: string } {
  const parts = spec.split(":");
  if (parts.length === 3) return { hostIp: parts[0], hostPort: parts[1], container: parts[2] };
  if (parts.length === 2) return { hostPort: parts[0], container: parts[1] };
  return { container: parts[0] };
}

/** Replaces `${NAME:-default}` by the default (what compose does with no `.env`). */
export function interpolateDefaults(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g, "$2");
}

// Images whose releases are numbered major.minor (PostgreSQL 17.6, Debian 12.12).
const TWO_PART_VERSIONS = new Set(["postgres", "debian"]);

/**
 * Whether an image reference names an exact release: a digest, or a tag with
 * a full version (`major.minor.patch`, or `major.minor` for images numbered
 * that way), never `latest` or a moving major.
 */
export function isPinnedImage(reference: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(reference)) return true;
  const match = /^(.+):([\w][\w.-]{0,127})$/.exec(reference);
  if (!match || /latest/i.test(match[2])) return false;
  const [name, tag] = [match[1], match[2]];
  const version = TWO_PART_VERSIONS.has(name) ? /^\d+\.\d+(\.\d+)?(-|$)/ : /^v?\d+\.\d+\.\d+(-|$)/;
  return version.test(tag);
}

/** One instruction of a Dockerfile, continuation lines joined. */
export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}

/** One stage of a Dockerfile. */
export interface DockerStage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages of instructions. */
export function parseDockerfile(text: string): DockerStage[] {
  const joined = text.split("\n").filter((line) => !/^\s*#/.test(line)).join("\n")
    .replace(/\\\n/g, " ");
  const stages: DockerStage[] = [];
  for (const line of joined.split("\n")) {
    const match = /^\s*([A-Za-z]+)\s+(.*?)\s*$/.exec(line);
    if (!match) continue;
    const keyword = match[1].toUpperCase();
    const args = match[2].replace(/\s+/g, " ");
    if (keyword === "FROM") {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Cannot read FROM line: "${line}"`);
      stages.push({ from: from[1], name: from[2], instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** The sources and destination of a `COPY` instruction (exec or shell form), and its `--from`. */
export function parseCopy(args: string): { from?: string; sources: string[]; destination: string } {
  const words = args.split(" ");
  const flags = words.filter((word) => word.startsWith("--"));
  const rest = words.filter((word) => !word.startsWith("--"));
  const paths = rest[0]?.startsWith("[") ? JSON.parse(rest.join(" ")) as string[] : rest;
  const from = flags.find((flag) => flag.startsWith("--from="))?.slice("--from=".length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}

function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === "*" && glob[i + 1] === "*") {
      source += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/**
 * A `.dockerignore` as Docker applies it: the last matching pattern wins, `!`
 * re-includes, and a pattern also matches every path inside a directory it
 * matches. Returns whether a path (relative, `/`-separated) is left out.
 */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text.split("\n").map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const include = line.startsWith("!");
      const pattern = (include ? line.slice(1) : line).trim().replace(/^\/+|\/+$/g, "");
      return { include, regexp: globToRegExp(pattern) };
    });
  return (path: string) => {
    const parts = path.split("/");
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((candidate) => rule.regexp.test(candidate))) excluded = !rule.include;
    }
    return excluded;
  };
}

/**
 * A compose file's text with `${NAME:-default}`, `${NAME-default}`, `${NAME}` and `$NAME`
 * replaced from `values` as compose does (`:-` also for an empty value), and `$$` as a literal `$`.
 * A substituted value is never read again.
 */
export function interpolateCompose(
  text: string,
  values: Readonly<Record<string, string | undefined>>,
): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced, colon, fallback, bare) => {
      if (match === "$$") return "$";
      const value = values[braced ?? bare];
      if (fallback === undefined) return value ?? "";
      const useFallback = value === undefined || (colon === ":" && value === "");
      return useFallback ? fallback : value;
    },
  );
}

/**
 * A provisioning value as Grafana expands it (its provisioning docs, "Use of the special
 * character $"): split at `$$` (a literal `$`); in each part every `${NAME}` is replaced first,
 * then every `$NAME` and `${NAME}` of the result (Go's os.ExpandEnv), so a `$` inside a value
 * substituted by `${NAME}` is expanded a second time, and one substituted by `$NAME` is not.
 */
export function expandGrafanaProvisioning(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const lookup = (name: string) => env[name] ?? "";
  return value.split("$$").map((part) =>
    part
      .replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name) => lookup(name))
      .replace(/\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (_, braced, bare) => lookup(braced ?? bare))
  ).join("$");
}
