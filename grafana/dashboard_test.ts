import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { buildAlertRules } from "./alert_rules.ts";
import { buildActivityDashboard, DASHBOARD_UID } from "./dashboard.ts";
import { DATASOURCE_TYPE, DATASOURCE_UID, type PostgresTarget } from "./datasource.ts";
import { generatedFiles, GRAFANA_DIR, staleFiles } from "./generate.ts";
import { collectQueries, expandQuery, panelsOf } from "./emulation/panel_queries.ts";

const committedDashboard = JSON.parse(
  await Deno.readTextFile(new URL("dashboards/activity_pipeline.json", GRAFANA_DIR)),
);
const committedRules = JSON.parse(
  await Deno.readTextFile(new URL("provisioning/alerting/activity_alerts.json", GRAFANA_DIR)),
);
const ref = { type: DATASOURCE_TYPE, uid: DATASOURCE_UID };
const now = new Date("2024-05-01T16:20:30Z");
const MACRO_CALL = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

Deno.test("the committed dashboard and alert rules are exactly what `deno task grafana` writes", async () => {
  assert.deepEqual(await staleFiles(), [], "run `deno task grafana` and commit the result");
  assert.deepEqual([...generatedFiles().keys()].sort(), [
    "dashboards/activity_pipeline.json",
    "provisioning/alerting/activity_alerts.json",
  ]);
});

Deno.test("the dashboard has a fixed uid, no id, a relative UTC range and a 30 s refresh", () => {
  assert.equal(committedDashboard.uid, DASHBOARD_UID);
  assert.equal("id" in committedDashboard, false);
  assert.ok(committedDashboard.schemaVersion >= 41 && committedDashboard.schemaVersion <= 42);
  assert.deepEqual(committedDashboard.time, { from: "now-6h", to: "now" });
  assert.equal(committedDashboard.timezone, "utc");
  assert.equal(committedDashboard.refresh, "30s");
  assert.deepEqual(committedDashboard.annotations, { list: [] });
});

Deno.test("every panel and every target names the provisioned datasource as an object", () => {
  const panels = panelsOf(committedDashboard);
  assert.ok(panels.length >= 11);
  for (const panel of panels) {
    assert.deepEqual(panel.datasource, ref, `panel ${panel.id}`);
    assert.ok((panel.targets ?? []).length > 0, `panel ${panel.id} has targets`);
    for (const target of panel.targets ?? []) {
      assert.deepEqual((target as PostgresTarget).datasource, ref, `panel ${panel.id} target`);
    }
  }
});

Deno.test("no generated file names a datasource by name, ${DS_...} or __inputs", () => {
  for (const [path, text] of generatedFiles()) {
    assert.equal(text.includes("${DS_"), false, path);
    assert.equal(text.includes("__inputs"), false, path);
    assert.equal(/"datasource":\s*"/.test(text), false, `${path} has a datasource string`);
  }
});

Deno.test("every target is raw SQL in code mode with a format and a refId unique in its panel", () => {
  for (const panel of panelsOf(committedDashboard)) {
    const targets = (panel.targets ?? []) as unknown as PostgresTarget[];
    assert.equal(new Set(targets.map((target) => target.refId)).size, targets.length);
    for (const target of targets) {
      const where = `panel ${panel.id} ${target.refId}`;
      assert.ok(target.rawSql.trim().length > 0, where);
      assert.ok(["time_series", "table"].includes(target.format), where);
      assert.equal(target.editorMode, "code", where);
      assert.equal(target.rawQuery, true, where);
      assert.match(target.refId, /^[A-Z]$/, where);
    }
  }
});

Deno.test("panel ids are unique and panels fit the 24-column grid without overlapping", () => {
  const panels = panelsOf(committedDashboard);
  assert.equal(new Set(panels.map((panel) => panel.id)).size, panels.length);
  const cells = new Set<string>();
  for (const { id, gridPos } of panels) {
    assert.ok(gridPos, `panel ${id} has a position`);
    const { x: left, y: top, w, h } = gridPos;
    assert.ok(left + w <= 24, `panel ${id} fits`);
    for (let x = left; x < left + w; x++) {
      for (let y = top; y < top + h; y++) {
        assert.equal(cells.has(`${x},${y}`), false, `panel ${id} overlaps at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
});

Deno.test("time-series queries return a time column and filter on the range", () => {
  const queries = collectQueries(committedDashboard, committedRules);
  for (const query of queries.filter((query) => query.format === "time_series")) {
    const { sql } = expandQuery(query, committedDashboard.time, { now });
    assert.match(sql, /AS "time"/, query.key);
    assert.match(query.rawSql, /ORDER BY 1\b/, query.key);
  }
  const unbounded = queries.filter((query) =>
    !query.rawSql.includes("$__timeFilter(") && !query.rawSql.includes("$__timeFrom()")
  );
  // Freshness is "now" relative to the newest data, whatever the selected range.
  assert.deepEqual(unbounded.map((query) => query.key), ["panel 2 A", "panel 2 B"]);
});

Deno.test("macros avoid Grafana's traps: no bare $__timeGroup and no parenthesis in arguments", () => {
  for (const query of collectQueries(committedDashboard, committedRules)) {
    for (const [, name, args] of query.rawSql.matchAll(MACRO_CALL)) {
      assert.notEqual(name, "__timeGroup", `${query.key} uses $__timeGroup, use the Alias form`);
      assert.equal(args.includes("("), false, `${query.key}: $${name}(${args})`);
    }
  }
});

Deno.test("only the last hour's top users reads per-user minute rows; totals read rollups", () => {
  for (const query of collectQueries(committedDashboard, committedRules)) {
    if (
      /\b(user_event_(summary|hourly|daily)|user_numbers|(FROM|JOIN) sessions)\b/.test(query.rawSql)
    ) {
      assert.equal(query.key, "panel 3 A");
      assert.equal(query.timeFrom, "1h");
    }
  }
});

Deno.test("the alert rules file names the same datasource uid and valid conditions", () => {
  assert.equal(committedRules.apiVersion, 1);
  const rules = committedRules.groups.flatMap((group: { rules: unknown[] }) => group.rules);
  assert.deepEqual(rules.map((rule: { uid: string }) => rule.uid), [
    "activity-no-events",
    "activity-rejected-share",
    "activity-lag-growing",
  ]);
  for (const rule of buildAlertRules().groups[0].rules) {
    const [sqlQuery, threshold] = rule.data;
    assert.equal(sqlQuery.datasourceUid, DATASOURCE_UID);
    assert.deepEqual((sqlQuery.model as PostgresTarget).datasource, ref);
    assert.ok((sqlQuery.relativeTimeRange?.from ?? 0) >= 300);
    assert.equal(threshold.datasourceUid, "__expr__");
    assert.equal(rule.condition, threshold.refId);
    assert.equal((threshold.model as unknown as { expression: string }).expression, sqlQuery.refId);
    // Grafana interpolates ${VAR} in provisioned titles and annotations (not in query models).
    assert.equal(JSON.stringify([rule.title, rule.annotations]).includes("$"), false);
    assert.equal(rule.dashboardUid, DASHBOARD_UID);
  }
});

Deno.test("the datasource provisioning file sets the uid, jsonData.database and env secrets", async () => {
  const file = parseYaml(
    await Deno.readTextFile(
      new URL("provisioning/datasources/activity_postgres.yaml", GRAFANA_DIR),
    ),
  );
  assert.equal(file.apiVersion, 1);
  const [source] = file.datasources;
  assert.equal(source.uid, DATASOURCE_UID);
  assert.equal(source.type, DATASOURCE_TYPE);
  assert.equal(source.user, "grafana_reader");
  assert.equal("database" in source, false);
  // $VAR, never ${VAR}: Grafana expands a `$` inside a ${VAR} value a second time.
  assert.equal(source.jsonData.database, "$GRAFANA_DB_NAME");
  assert.equal(source.jsonData.sslmode, "$GRAFANA_DB_SSLMODE");
  assert.equal(source.secureJsonData.password, "$GRAFANA_DB_PASSWORD");
  assert.equal(source.url, "$GRAFANA_DB_HOST");
});

Deno.test("the dashboard provider keeps files authoritative in their own folder", async () => {
  const file = parseYaml(
    await Deno.readTextFile(new URL("provisioning/dashboards/activity.yaml", GRAFANA_DIR)),
  );
  const [provider] = file.providers;
  assert.equal(provider.type, "file");
  assert.equal(provider.folder, "Activity pipeline");
  assert.equal(provider.allowUiUpdates, false);
  assert.equal(provider.disableDeletion, true);
  assert.equal(provider.options.path, "/etc/grafana/dashboards");
});

Deno.test("provisioning folders hold only files Grafana reads", async () => {
  for (
    const [folder, pattern] of [
      ["provisioning/datasources/", /\.ya?ml$/],
      ["provisioning/dashboards/", /\.ya?ml$/],
      // Grafana refuses or skips any other suffix in the alerting folder.
      ["provisioning/alerting/", /\.(ya?ml|json)$/],
      ["dashboards/", /\.json$/],
    ] as const
  ) {
    for await (const entry of Deno.readDir(new URL(folder, GRAFANA_DIR))) {
      assert.ok(entry.isFile && pattern.test(entry.name), `${folder}${entry.name}`);
    }
  }
});

Deno.test("the builder output is deterministic", () => {
  assert.deepEqual(
    JSON.parse(JSON.stringify(buildActivityDashboard())),
    JSON.parse(JSON.stringify(buildActivityDashboard())),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(buildActivityDashboard())), committedDashboard);
});

Deno.test("the product analytics row is open, and its panels follow it at the top level", () => {
  const rows = committedDashboard.panels.filter((panel: { type: string }) => panel.type === "row");
  assert.deepEqual(rows.map((row: { title: string }) => row.title), ["Product analytics"]);
  // Grafana drops the panels listed inside a row that is not collapsed.
  assert.deepEqual([rows[0].collapsed, rows[0].panels], [false, []]);
  const below = committedDashboard.panels.filter((panel: { gridPos: { y: number } }) =>
    panel.gridPos.y > rows[0].gridPos.y
  );
  assert.deepEqual(below.map((panel: { id: number }) => panel.id), [
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
  ]);
});
