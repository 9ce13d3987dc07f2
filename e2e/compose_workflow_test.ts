/**
 * The CI workflow for runners with Docker (.github/workflows/stack.yml),
 * checked where it cannot run: it starts the stack with compose and waits for
 * health, then runs deno task smoke:stack with Grafana required, with
 * passwords holding `$` set the way the docs say, and the addresses and
 * credentials the stack really has.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { programBuild, REPO_ROOT } from "../tools/compile.ts";
import { composeHostDatabaseUrl, parseDotEnv } from "../tools/compose_settings.ts";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}

const workflow = parse(await Deno.readTextFile(`${REPO_ROOT}/.github/workflows/stack.yml`)) as {
  on: Record<string, unknown>;
  jobs: Record<string, { "runs-on": string; env?: Record<string, string>; steps: Step[] }>;
};
const [job] = Object.values(workflow.jobs);
const steps = job.steps;
const index = (pattern: RegExp) => steps.findIndex((step) => pattern.test(step.run ?? ""));

/** The text a step writes with `cat > file <<'TAG' ... TAG`. */
function heredoc(file: string): string {
  const step = steps.find((candidate) => candidate.run?.includes(`cat > ${file} <<`))!;
  assert.ok(step, `no step writes ${file}`);
  const [, tag, body] = /<<'(\w+)'\n([\s\S]*?)\n\1/.exec(step.run!)!;
  assert.ok(tag);
  return body;
}

Deno.test("the workflow builds and starts the stack, waits for health, then runs smoke:stack with Grafana required", () => {
  assert.ok("pull_request" in workflow.on && "push" in workflow.on);
  assert.match(job["runs-on"], /^ubuntu-/);
  const up = index(/docker compose .*-f docker-compose\.yml.* up --build --wait/);
  const smoke = index(/deno task smoke:stack/);
  assert.ok(up >= 0, "no docker compose up --build --wait");
  assert.ok(smoke > up, "smoke:stack must run after the stack is up");
  assert.doesNotMatch(steps[smoke].run!, /--grafana[ =]optional/);
  const logs = steps.findIndex((step) => step.if === "failure()" && /logs/.test(step.run ?? ""));
  assert.ok(logs > smoke, "no logs on failure");
  const down = steps.find((step) =>
    step.if === "always()" && /down --volumes/.test(step.run ?? "")
  );
  assert.ok(down, "the stack is not removed");
  for (const step of steps.filter((candidate) => candidate.uses)) {
    assert.match(step.uses!, /@v\d+$/, `${step.uses} is not pinned to a release`);
  }
});

Deno.test("the workflow uses CI's Deno version, random passwords with $ and the stack's real addresses", async () => {
  const ciDeno = /^DENO_VERSION=(\S+)$/m.exec(await Deno.readTextFile(`${REPO_ROOT}/.ci/run`))?.[1];
  assert.equal(job.env?.DENO_VERSION, ciDeno);
  // The step that writes .env, run for real in a folder of its own.
  const step = steps.find((candidate) => / > \.env$/m.test(candidate.run ?? ""))!;
  assert.ok(step, "no step writes .env");
  const folder = await Deno.makeTempDir({ prefix: "workflow_env_" });
  try {
    const run = await new Deno.Command("bash", {
      args: ["-eo", "pipefail", "-c", step.run!],
      cwd: folder,
      env: { GITHUB_ENV: `${folder}/github_env` },
      stderr: "piped",
    }).output();
    assert.equal(run.success, true, new TextDecoder().decode(run.stderr));
    const dotEnv = parseDotEnv(await Deno.readTextFile(`${folder}/.env`));
    const passwords = Object.keys(dotEnv).filter((name) => name.endsWith("PASSWORD"));
    assert.equal(passwords.length, 4);
    for (const name of passwords) assert.ok(dotEnv[name].includes("$"), `${name} has no $`);
    // Rejections shown on the dashboard need some malformed messages.
    assert.ok(Number(dotEnv.PRODUCER_INVALID_RATIO) > 0);
    // smoke:stack's environment (GITHUB_ENV): Grafana's admin and the compose database's writer.
    const smokeEnv = parseDotEnv(await Deno.readTextFile(`${folder}/github_env`));
    assert.equal(smokeEnv.GRAFANA_ADMIN_PASSWORD, dotEnv.GRAFANA_ADMIN_PASSWORD);
    assert.equal(
      decodeURIComponent(smokeEnv.DATABASE_URL),
      decodeURIComponent(composeHostDatabaseUrl(dotEnv)),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
  // The override publishes the consumer's health port where smoke:stack looks by default.
  const override = parse(heredoc("compose.smoke.yml")) as {
    services: { consumer: { ports: string[] } };
  };
  const port = programBuild("consumer").metricsPort;
  assert.deepEqual(override.services.consumer.ports, [`127.0.0.1:${port}:${port}`]);
  const smokeTool = await Deno.readTextFile(`${REPO_ROOT}/tools/smoke_stack.ts`);
  assert.ok(smokeTool.includes(`"http://127.0.0.1:${port}"`));
});
