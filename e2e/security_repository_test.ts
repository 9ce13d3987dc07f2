/**
 * Security of what is in the repository (no services needed):
 * - no secret in any file that is or would be committed, except the
 *   documented local-only defaults of `.env.example`;
 * - the programs build SQL text only from constants: every raw-SQL call of
 *   the consumer, producer and shared modules is one of the reviewed ones;
 * - the programs' tasks grant the narrowest permissions that work (never
 *   `-A`), and the tests run them with exactly those.
 * (Containers run as a non-root user: e2e/compose_dockerfile_test.ts.)
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { retentionTargets } from "../consumer/maintenance.ts";
import { printFigures } from "../testing/mod.ts";
import { CONSUMER_PERMISSIONS } from "../testing/consumer_fixture.ts";
import { producerTaskArgs } from "../testing/producer_topic.ts";
import { compiledPermissions, PROGRAM_BUILDS, PROGRAM_RESOLUTION } from "../tools/compile.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Files git would commit: tracked, plus untracked ones that are not ignored. */
function repositoryFiles(): string[] {
  const listed = new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.ok(listed.success, new TextDecoder().decode(listed.stderr));
  return new TextDecoder().decode(listed.stdout).split("\0").filter(Boolean)
    .filter((path) => {
      try {
        return Deno.statSync(ROOT + path).isFile;
      } catch {
        return false; // listed but deleted in the working tree
      }
    });
}

function textOf(path: string): string | undefined {
  const bytes = Deno.readFileSync(ROOT + path).subarray(0, 2_000_000);
  if (bytes.includes(0)) return undefined; // binary
  return new TextDecoder().decode(bytes);
}

/** Credentials that only appear in unit tests of URL and settings parsing, reviewed. */
const REVIEWED_TEST_FAKES = new Set([
  "hunter2",
  "s3cret",
  "p",
  "p%40ss%2Fword",
  "p@ss/word",
  "changed",
]);

/** Token shapes that are secrets wherever they appear. */
const TOKEN_SHAPES: [string, RegExp][] = [
  ["private key", /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/],
  ["AWS access key id", /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["GitHub token", /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/],
  ["Slack token", /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ["Google API key", /\bAIza[0-9A-Za-z_-]{35}\b/],
  ["Stripe live key", /\b[sr]k_live_[0-9A-Za-z]{20,}/],
  ["npm token", /\bnpm_[A-Za-z0-9]{36}\b/],
  ["JSON web token", /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/],
];

/** Where a password is written out: in a URL, as `NAME=value` (settings files), in quotes. */
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s:@\/'"`]+:([^\s@\/'"`]+)@/gi;
const SETTING_PASSWORD =
  /^[ \t]*[A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY)[A-Z0-9_]*[ \t]*[=:][ \t]*([^\s#]+)/gim;
const QUOTED_PASSWORD =
  /(?:password|passwd|secret|token|api_?key)[A-Za-z_]*["']?\s*[:=]\s*(["'`])((?:(?!\1)[^\n]){1,200})\1/gi;

/** The findings of the secret scan in one file's text (`code`: TypeScript, not settings). */
function secretsIn(
  text: string,
  allowed: ReadonlySet<string>,
  options: { code: boolean },
): string[] {
  const findings: string[] = [];
  for (const [name, shape] of TOKEN_SHAPES) {
    const match = shape.exec(text);
    if (match) findings.push(`${name}: ${match[0].slice(0, 24)}…`);
  }
  const spots: [RegExp, number][] = [[URL_PASSWORD, 1], [QUOTED_PASSWORD, 2]];
  // In code, `NAME: value` is an object literal of expressions, not a setting.
  if (!options.code) spots.push([SETTING_PASSWORD, 1]);
  for (const [spot, group] of spots) {
    for (const match of text.matchAll(spot)) {
      const value = match[group];
      // A reference to a variable ($X, ${X:-default}) is not a value; its default is checked
      // where it is written out in full (.env.example).
      const defaultValue = /^\$\{[A-Z0-9_]+:?-([^}]*)\}$/.exec(value)?.[1];
      if (defaultValue !== undefined ? allowed.has(defaultValue) : value.startsWith("$")) continue;
      if (value.includes("${") || allowed.has(value)) continue;
      findings.push(`password written out: ${match[0].slice(0, 80)}`);
    }
  }
  return findings;
}

/** The documented local-only defaults: every password-like setting of `.env.example`. */
function documentedDefaults(): Map<string, string> {
  const text = Deno.readTextFileSync(ROOT + ".env.example");
  const defaults = new Map<string, string>();
  for (const [, name, value] of text.matchAll(/^([A-Z0-9_]*PASSWORD[A-Z0-9_]*)=(.*)$/gm)) {
    defaults.set(name, value);
  }
  return defaults;
}

Deno.test("the secret scan finds planted secrets (so a clean scan means something)", () => {
  const planted = [
    "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE",
    "-----BEGIN " + "PRIVATE KEY-----",
    "key = AKIA" + "QWERTYUIOPASDFGH",
    "token: gh" + "p_" + "a".repeat(36),
    "DATABASE_URL=postgres://writer:" + "Sup3rS3cret" + "@db:5432/activity",
    // Split so that this file does not hold what it plants.
    ["ACTIVITY_WRITER_PASS", "WORD=Sup3rS3cret"].join(""),
    ["const pass", 'word = "', 'Sup3rS3cret";'].join(""),
    "eyJ" + "hbGciOiJIUzI1NiJ9.eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
  ];
  for (const text of planted) {
    assert.notDeepEqual(secretsIn(text, new Set(), { code: false }), [], `not found in: ${text}`);
  }
  assert.notDeepEqual(secretsIn(planted[6], new Set(), { code: true }), []);
  const allowed = new Set(["activity-writer-local-only"]);
  const harmless: [string, boolean][] = [
    [
      "postgres://activity_writer:${ACTIVITY_WRITER_PASSWORD:-activity-writer-local-only}@db/x",
      false,
    ],
    ["GRAFANA_READER_PASSWORD: ${GRAFANA_READER_PASSWORD}", false],
    ["password: string;", true],
    ["secret: true,", true],
    ["PGPASSWORD: decodeURIComponent(admin.password),", true],
    ["const password = `w'r ${crypto.randomUUID()}`;", true],
  ];
  for (const [text, code] of harmless) {
    assert.deepEqual(secretsIn(text, allowed, { code }), [], text);
  }
});

Deno.test("no secret is in the repository beyond the documented local-only defaults", () => {
  const defaults = documentedDefaults();
  assert.ok(defaults.size >= 3, "the local-only passwords are documented in .env.example");
  const example = Deno.readTextFileSync(ROOT + ".env.example");
  assert.match(example, /local-only[\s#]+defaults: change every password/);
  for (const [name, value] of defaults) {
    // Each default says what it is, except Grafana's stock admin/admin (named in the README).
    assert.ok(value.endsWith("-local-only") || value === "admin", `${name}=${value}`);
  }
  const files = repositoryFiles();
  assert.ok(files.length > 50, `only ${files.length} files listed`);
  assert.ok(!files.some((path) => /(^|\/)\.env$/.test(path)), "a .env file would be committed");
  const keyFiles = files.filter((path) =>
    /\.(pem|key|p12|pfx|jks|keystore)$|(^|\/)id_(rsa|ecdsa|ed25519)$/.test(path)
  );
  assert.deepEqual(keyFiles, [], "key files would be committed");
  const allowed = new Set([...defaults.values(), ...REVIEWED_TEST_FAKES]);
  const findings: string[] = [];
  let scanned = 0;
  for (const path of files) {
    const text = textOf(path);
    if (text === undefined) continue;
    scanned++;
    const code = /\.(ts|js|mjs)$/.test(path);
    for (const finding of secretsIn(text, allowed, { code })) findings.push(`${path}: ${finding}`);
  }
  assert.deepEqual(findings, []);
  printFigures("security_secrets", {
    files_scanned: scanned,
    documented_local_defaults: defaults.size,
    findings: findings.length,
  });
});

/** Each raw-SQL call (`.unsafe(`, `.simple(`, `.file(`) in a program module, with its first argument. */
function rawSqlCalls(): { where: string; argument: string }[] {
  const calls: { where: string; argument: string }[] = [];
  for (const folder of ["consumer", "producer", "shared"]) {
    for (const entry of Deno.readDirSync(ROOT + folder)) {
      if (!entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
      const path = `${folder}/${entry.name}`;
      const text = Deno.readTextFileSync(ROOT + path);
      for (const match of text.matchAll(/\.(?:unsafe|simple|file)\s*(?:<[^()]*>)?\s*\(\s*/g)) {
        const start = match.index + match[0].length;
        let argument: string;
        if (text[start] === "`") {
          const end = text.indexOf("`", start + 1);
          argument = text.slice(start, end + 1);
        } else {
          argument = /^[A-Za-z_$][\w$.]*/.exec(text.slice(start))?.[0] ??
            text.slice(start, start + 40);
        }
        const line = text.slice(0, match.index).split("\n").length;
        calls.push({ where: `${path}:${line}`, argument });
      }
    }
  }
  return calls;
}

Deno.test("the programs build SQL text only from constants: every raw-SQL call is a reviewed one", () => {
  const constants = new Map<string, string>();
  for (const folder of ["consumer", "producer", "shared"]) {
    for (const entry of Deno.readDirSync(ROOT + folder)) {
      if (!entry.name.endsWith(".ts")) continue;
      const text = Deno.readTextFileSync(`${ROOT}${folder}/${entry.name}`);
      for (const [, name, body] of text.matchAll(/^(?:export )?const ([A-Z_]+) = (`[^`]*`);/gm)) {
        constants.set(name, body);
      }
    }
  }
  // Interpolations reviewed: table and column names from `retentionTargets`, code constants
  // (the flush statement's clock readings, counted writes, closed-rollup and analytics CTEs are
  // built from literals in flush_statement.ts and analytics_statement.ts, with no setting or input).
  const reviewedInterpolations = new Set([
    "${target.table}",
    "${target.column}",
    "${CLOCK}",
    "${WRITTEN_COLUMNS}",
    "${analyticsCtes(37)}",
    "${HOURLY_CTE}",
    "${DAILY_CTE}",
  ]);
  const reviewedArguments = new Set(["migration.sql"]); // the files of sql/, read by migrate()
  const calls = rawSqlCalls();
  assert.ok(calls.length >= 3, `found only ${calls.length} raw-SQL calls: is the scan broken?`);
  for (const { where, argument } of calls) {
    const text = argument.startsWith("`") ? argument : constants.get(argument);
    if (text === undefined) {
      assert.ok(reviewedArguments.has(argument), `${where}: SQL text from ${argument}`);
      continue;
    }
    const interpolations = text.match(/\$\{[^}]*\}/g) ?? [];
    for (const part of interpolations) {
      assert.ok(reviewedInterpolations.has(part), `${where}: SQL text built with ${part}`);
    }
  }
  // Those names never come from input: the same constants whatever the settings.
  for (const days of [[1, 0], [30, 365], [3650, 36500]]) {
    for (
      const target of retentionTargets({ retentionDays: days[0], rollupRetentionDays: days[1] })
    ) {
      assert.match(`${target.table}.${target.column}`, /^[a-z_]+\.[a-z_]+$/);
    }
  }
  printFigures("security_sql", { raw_sql_calls_reviewed: calls.length });
});

/** The permission flags of a `deno run` task. */
function taskFlags(task: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(ROOT + "deno.json")).tasks as Record<
    string,
    string
  >;
  const words = tasks[task].trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], task);
  // How npm packages are resolved (tools/compile.ts) is no permission.
  return words.slice(2, -1).filter((flag) => !PROGRAM_RESOLUTION.includes(flag));
}

Deno.test("the programs run with the narrowest permissions that work, and the tests and binaries use exactly those", () => {
  const checked: string[] = [];
  for (const task of ["producer", "consumer", "migrate"]) {
    const flags = taskFlags(task);
    for (const flag of flags) {
      assert.doesNotMatch(flag, /^(-A|--allow-all)$/, `${task}: ${flag}`);
      assert.doesNotMatch(flag, /^--allow-(run|write|ffi|sys|import)/, `${task}: ${flag}`);
      if (flag.startsWith("--allow-read") || flag.startsWith("--allow-env")) {
        assert.match(flag, /=./, `${task}: ${flag} is not limited`);
      }
    }
    assert.ok(!task.startsWith("producer") || !flags.some((f) => f.startsWith("--allow-read")));
    checked.push(task);
  }
  // Every consumer and producer test runs the CLI with these very flags.
  const consumerFlags = taskFlags("consumer");
  assert.deepEqual(
    CONSUMER_PERMISSIONS.map((flag) => flag.replace(`=${ROOT}sql/`, "=sql")),
    consumerFlags,
  );
  assert.deepEqual(
    producerTaskArgs().slice(1, -1).filter((flag) =>
      !PROGRAM_RESOLUTION.includes(flag) && !flag.startsWith("--lock=")
    ),
    taskFlags("producer"),
  );
  // The binaries get the same (reads of embedded files unlimited inside the binary).
  const permissionFlags = (flags: readonly string[]) =>
    flags.filter((flag) => /^--(allow|deny)-/.test(flag));
  for (const build of PROGRAM_BUILDS) {
    assert.deepEqual(
      permissionFlags(build.permissions),
      permissionFlags(taskFlags(build.name)),
      `the ${build.name} binary's permissions differ from its task's`,
    );
    assert.ok(!compiledPermissions(build).some((flag) => /^(-A|--allow-all)$/.test(flag)));
  }
  printFigures("security_permissions", { tasks_checked: checked.join("/") });
});
