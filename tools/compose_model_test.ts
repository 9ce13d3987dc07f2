import assert from "node:assert/strict";
import {
  composeVariableUses,
  dockerignoreMatcher,
  expandGrafanaProvisioning,
  interpolateCompose,
  interpolateDefaults,
  isPinnedImage,
  parseCopy,
  parseDockerfile,
  parsePort,
  parseVolume,
} from "./compose_model.ts";
import { composeHostDatabaseUrl, composeValue, parseDotEnv } from "./compose_settings.ts";

Deno.test("compose variable uses are read with their defaults, bare ones without", () => {
  const text = "a: ${A:-x y}\nb: ${B-}\nc: ${C}\nd: $D\ne: $${NOT}\nf: ${E:?must be set}";
  assert.deepEqual(composeVariableUses(text), [
    { name: "A", fallback: "x y" },
    { name: "B", fallback: "" },
    { name: "C" },
    { name: "D" },
    { name: "E" },
  ]);
  assert.equal(interpolateDefaults("127.0.0.1:${P:-9092}:9092"), "127.0.0.1:9092:9092");
});

Deno.test("only images with an exact version tag or a digest count as pinned", () => {
  for (const pinned of ["apache/kafka:3.9.1", "postgres:17.6-bookworm", "debian:12.12-slim"]) {
    assert.equal(isPinnedImage(pinned), true, pinned);
  }
  assert.equal(isPinnedImage("grafana/grafana:12.2.1"), true);
  assert.equal(isPinnedImage("prom/prometheus:v3.5.0"), true);
  assert.equal(isPinnedImage(`x@sha256:${"a".repeat(64)}`), true);
  const moving = ["grafana/grafana", "grafana/grafana:latest", "debian:12-slim", "x:3", "x:3.1"];
  for (const reference of moving) {
    assert.equal(isPinnedImage(reference), false, reference);
  }
});

Deno.test("short volume and port syntax is split into its parts", () => {
  assert.deepEqual(parseVolume("./grafana:/etc/grafana:ro"), {
    source: "./grafana",
    target: "/etc/grafana",
    mode: "ro",
  });
  assert.deepEqual(parsePort("127.0.0.1:3000:3000"), {
    hostIp: "127.0.0.1",
    hostPort: "3000",
    container: "3000",
  });
  assert.deepEqual(parsePort("3000:3000"), { hostPort: "3000", container: "3000" });
});

Deno.test("a Dockerfile is split into named stages with joined continuation lines", () => {
  const stages = parseDockerfile(
    "# comment\nFROM a:1.2.3 AS build\nRUN x \\\n  y\nFROM build AS final\n" +
      'COPY --from=build /a /b\nCMD ["z"]\n',
  );
  assert.deepEqual(stages.map((stage) => [stage.from, stage.name]), [
    ["a:1.2.3", "build"],
    ["build", "final"],
  ]);
  assert.deepEqual(stages[0].instructions, [{ keyword: "RUN", args: "x y" }]);
  assert.deepEqual(parseCopy(stages[1].instructions[0].args), {
    from: "build",
    sources: ["/a"],
    destination: "/b",
  });
  assert.deepEqual(parseCopy('["a b", "c/"]').sources, ["a b"]);
});

Deno.test("a .dockerignore allowlist keeps only re-included paths, last rule winning", () => {
  const ignored = dockerignoreMatcher(
    "*\n!shared/\n!tools/compile.ts\n**/*_test.ts\n**/node_modules\n",
  );
  assert.equal(ignored("shared/event.ts"), false);
  assert.equal(ignored("shared/deep/x.ts"), false);
  assert.equal(ignored("shared/event_test.ts"), true);
  assert.equal(ignored("tools/compile.ts"), false);
  assert.equal(ignored("tools/dev.ts"), true);
  assert.equal(ignored("README.md"), true);
  assert.equal(ignored("shared/node_modules/x.js"), true);
});

Deno.test("compose values fall back to their defaults and build the host database URL", () => {
  assert.equal(composeValue("KAFKA_HOST_PORT", {}), "9092");
  assert.equal(composeValue("KAFKA_HOST_PORT", { KAFKA_HOST_PORT: "" }), "9092");
  assert.equal(composeValue("KAFKA_HOST_PORT", { KAFKA_HOST_PORT: "19092" }), "19092");
  assert.throws(() => composeValue("NOPE", {}), /not a compose variable/);
  assert.equal(
    composeHostDatabaseUrl({ ACTIVITY_WRITER_PASSWORD: "p@ss/word", POSTGRES_HOST_PORT: "6543" }),
    "postgres://activity_writer:p%40ss%2Fword@127.0.0.1:6543/activity",
  );
});

Deno.test("a .env file is read like compose reads simple values", () => {
  assert.deepEqual(
    parseDotEnv("# c\nA=1\nexport B = two \nC='x # y'\nD=\"q\"\nE=v # comment\nnot a line\n"),
    { A: "1", B: "two", C: "x # y", D: "q", E: "v" },
  );
});

Deno.test("compose interpolation uses defaults, keeps a substituted $ and reads $$ as $", () => {
  const text = "a: ${A:-x}\nb: ${B-y}\nc: ${C}\nd: $D\ne: $${NOT}";
  assert.equal(
    interpolateCompose(text, { A: "", B: "", C: "p$w", D: "d" }),
    "a: x\nb: \nc: p$w\nd: d\ne: ${NOT}",
  );
  assert.equal(interpolateCompose("${A:-x}", { A: "set" }), "set");
});

Deno.test("Grafana expands a $ inside a ${VAR} value again but not inside a $VAR value", () => {
  const value = ["Pa", "$sw0rd"].join("");
  const env = { SECRET: value, sw0rd: "!" };
  assert.equal(expandGrafanaProvisioning("$SECRET", env), value);
  assert.equal(expandGrafanaProvisioning("${SECRET}", env), "Pa!");
  assert.equal(expandGrafanaProvisioning("${SECRET}", { SECRET: value }), "Pa");
  assert.equal(expandGrafanaProvisioning("cost $$5 for $SECRET", env), `cost $5 for ${value}`);
  assert.equal(expandGrafanaProvisioning("http://$HOST:5432", { HOST: "db" }), "http://db:5432");
});
