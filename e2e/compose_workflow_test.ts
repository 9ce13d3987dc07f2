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

Deno.test("the workflow uses CI's Deno version, passwords with $ and the stack's real addresses", async () => {
  const ciDeno = /^DENO_VERSION=(\S+)$/m.exec(await Deno.readTextFile(`${REPO_ROOT}/.ci/run`))?.[1];
  assert.equal(job.env?.DENO_VERSION, ciDeno);
  const dotEnv = parseDotEnv(heredoc(".env"));
  for (const [name, value] of Object.entries(dotEnv)) {
    if (name.endsWith("PASSWORD")) assert.ok(value.includes("$"), `${name} has no $ to prove`);
  }
  const smoke = steps[index(/deno task smoke:stack/)];
  assert.equal(smoke.env?.GRAFANA_ADMIN_PASSWORD, dotEnv.GRAFANA_ADMIN_PASSWORD);
  // The host's URL of the compose database as the writer (percent-encoded like dev builds it).
  assert.equal(
    decodeURIComponent(smoke.env!.DATABASE_URL),
    decodeURIComponent(composeHostDatabaseUrl(dotEnv)),
  );
  // Rejections shown on the dashboard need some malformed messages.
  assert.ok(Number(dotEnv.PRODUCER_INVALID_RATIO) > 0);
  // The override publishes the consumer's health port where smoke:stack looks by default.
  const override = parse(heredoc("compose.smoke.yml")) as {
    services: { consumer: { ports: string[] } };
  };
  const port = programBuild("consumer").metricsPort;
  assert.deepEqual(override.services.consumer.ports, [`127.0.0.1:${port}:${port}`]);
  const smokeTool = await Deno.readTextFile(`${REPO_ROOT}/tools/smoke_stack.ts`);
  assert.ok(smokeTool.includes(`"http://127.0.0.1:${port}"`));
});
