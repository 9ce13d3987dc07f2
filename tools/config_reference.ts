/**
 * The configuration reference, generated from the programs' own setting
 * definitions (`producerProgram`, `consumerProgram`), the compose variables
 * (`tools/compose_settings.ts`) and docker-compose.yml:
 * - the table of `docs/configuration.md` (between markers);
 * - `.env.example`.
 * `deno run -A tools/config_reference.ts --write` rewrites both;
 * `tools/config_reference_test.ts` fails when either is out of date.
 */
import { consumerProgram } from "@activity/consumer";
import { producerProgram } from "@activity/producer";
import type { ProgramDefinition, SettingsDefinition } from "@activity/shared";
import { COMPOSE_VARIABLES } from "./compose_settings.ts";
import { parseCompose } from "./compose_model.ts";
import { REPO_ROOT } from "./compile.ts";

/** One line of the reference: a variable (or a flag without one). */
export interface ReferenceRow {
  readonly variable?: string;
  readonly flag?: string;
  /** `producer`, `consumer` or `compose`. */
  readonly usedBy: string[];
  readonly fallback: string;
  readonly help: string;
  /** What docker-compose.yml sets it to, when compose fixes it. */
  readonly composeValue?: string;
}

/** The programs whose settings the reference lists. */
export const PROGRAMS: readonly ProgramDefinition<SettingsDefinition>[] = [
  producerProgram,
  consumerProgram,
];

const LOG_FORMAT_HELP =
  "Log format: `json` or `pretty` (default: pretty on a terminal, JSON lines " +
  "otherwise).";

/** Every variable and flag: the programs' settings first, then the compose stack's. */
export function referenceRows(
  programs: readonly ProgramDefinition<SettingsDefinition>[],
  composeEnvironment: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): ReferenceRow[] {
  const rows = new Map<string, ReferenceRow>();
  for (const program of programs) {
    for (const spec of Object.values(program.settings)) {
      const key = spec.env ?? `--${spec.flag}`;
      const fixed = spec.env ? composeEnvironment[program.name]?.[spec.env] : undefined;
      // Pass-through (`${NAME:-}`) is not a value; `${NAME:-default}` reads as `$NAME`.
      const composeValue = fixed === undefined || /^\$\{[A-Z0-9_]+:-\}$/.test(String(fixed))
        ? undefined
        : String(fixed).replace(/\$\{([A-Z0-9_]+):-[^}]*\}/g, "$$$1");
      // A secret's default is shown unless it holds a password.
      const fallback = spec.fallback === undefined
        ? "(required)"
        : spec.secret && /:\/\/[^/@]*:[^@]*@/.test(spec.fallback)
        ? "(hidden)"
        : spec.fallback;
      const help = `${spec.help} Allowed: ${spec.allowed}.`;
      const previous = rows.get(key);
      if (previous) {
        rows.set(key, {
          ...previous,
          usedBy: [...previous.usedBy, program.name],
          fallback: previous.fallback === fallback
            ? fallback
            : `${previous.usedBy.join(", ")}: ${previous.fallback}; ${program.name}: ${fallback}`,
          help: previous.help === help
            ? help
            : `${capitalized(previous.usedBy.join(", "))}: ${previous.help} ` +
              `${capitalized(program.name)}: ${help}`,
          composeValue: previous.composeValue ?? composeValue,
        });
        continue;
      }
      rows.set(key, {
        variable: spec.env,
        flag: `--${spec.flag}`,
        usedBy: [program.name],
        fallback,
        help,
        composeValue,
      });
    }
  }
  rows.set("LOG_FORMAT", {
    variable: "LOG_FORMAT",
    usedBy: programs.map((program) => program.name),
    fallback: "(by terminal)",
    help: LOG_FORMAT_HELP,
  });
  for (const variable of COMPOSE_VARIABLES) {
    rows.set(variable.name, {
      variable: variable.name,
      usedBy: ["compose"],
      fallback: variable.fallback,
      help: variable.help,
    });
  }
  return [...rows.values()];
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** The Markdown table (unformatted; `deno fmt` aligns it). */
export function renderTable(rows: readonly ReferenceRow[]): string {
  const lines = [
    "| Variable | Flag | Used by | Default | Meaning |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    const meaning = row.composeValue
      ? `${row.help} Compose sets \`${row.composeValue}\`.`
      : row.help;
    lines.push(
      `| ${row.variable ? `\`${row.variable}\`` : ""} | ${row.flag ? `\`${row.flag}\`` : ""} | ` +
        `${row.usedBy.join(", ")} | \`${cell(row.fallback)}\` | ${cell(meaning)} |`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The text of `.env.example`: the compose stack's variables, then those compose passes through. */
export function renderEnvExample(rows: readonly ReferenceRow[]): string {
  const out = [
    "# Settings of `docker compose up`. Copy this file to .env and change what you need;",
    "# without a .env file compose uses exactly the values below. They are local-only",
    "# defaults: change every password before the stack is reachable by anyone else.",
    "# Generated by `deno run -A tools/config_reference.ts --write` from",
    "# tools/compose_settings.ts and the programs' settings (docs/configuration.md).",
    "",
    "## The stack",
  ];
  for (const row of rows.filter((row) => row.usedBy.includes("compose"))) {
    out.push(`# ${row.help}`, `${row.variable}=${row.fallback}`);
  }
  out.push(
    "",
    "## The programs: empty means the program's own default (in brackets)",
  );
  for (const row of rows) {
    if (!row.variable || row.usedBy.includes("compose") || row.composeValue) continue;
    out.push(
      `# ${row.help} [${row.fallback}] (${row.usedBy.join(", ")})`,
      `${row.variable}=`,
    );
  }
  return out.join("\n") + "\n";
}

/** Formats Markdown the way `deno fmt` (and so `deno task check`) wants it. */
export async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "--line-width=100", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  if (!success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** The document that holds the generated table. */
export const REFERENCE_DOC = `${REPO_ROOT}/docs/configuration.md`;

/** The markers around the generated table in `docs/configuration.md`. */
export const MARKERS = {
  start: "<!-- config-reference:start (generated by tools/config_reference.ts) -->",
  end: "<!-- config-reference:end -->",
} as const;

/** The document with its reference table replaced by `table`. */
export function replaceTable(readme: string, table: string): string {
  return replaceBetween(readme, MARKERS, table);
}

/** `doc` with what stands between the markers replaced by `text`. */
export function replaceBetween(
  doc: string,
  markers: { readonly start: string; readonly end: string },
  text: string,
): string {
  const start = doc.indexOf(markers.start);
  const end = doc.indexOf(markers.end);
  if (start < 0 || end < start) {
    throw new Error(`the document lacks the markers ${markers.start} ... ${markers.end}`);
  }
  return doc.slice(0, start + markers.start.length) + "\n\n" + text + "\n" + doc.slice(end);
}

/** The generated texts from the current sources. */
export async function generatedReference(): Promise<{ table: string; envExample: string }> {
  const compose = parseCompose(await Deno.readTextFile(`${REPO_ROOT}/docker-compose.yml`));
  const environment = Object.fromEntries(
    Object.entries(compose.services).map(([name, service]) => [name, service.environment ?? {}]),
  );
  const rows = referenceRows(PROGRAMS, environment);
  return { table: await formatMarkdown(renderTable(rows)), envExample: renderEnvExample(rows) };
}

if (import.meta.main) {
  const { table, envExample } = await generatedReference();
  if (Deno.args.includes("--write")) {
    const doc = await Deno.readTextFile(REFERENCE_DOC);
    await Deno.writeTextFile(REFERENCE_DOC, replaceTable(doc, table));
    await Deno.writeTextFile(`${REPO_ROOT}/.env.example`, envExample);
    console.log("wrote docs/configuration.md and .env.example");
  } else {
    console.log(table);
  }
}
