import assert from "node:assert/strict";
import { expandMacros, formatRfc3339Nano, MacroError } from "./macros.ts";

const range = {
  from: new Date("2024-05-01T10:00:00.123Z"),
  to: new Date("2024-05-01T16:00:00Z"),
  intervalMs: 60_000,
};
const F = "2024-05-01T10:00:00.123Z";
const T = "2024-05-01T16:00:00Z";
const fromSeconds = Math.floor(range.from.getTime() / 1000);
const toSeconds = range.to.getTime() / 1000;

Deno.test("$__timeFilter becomes an inclusive BETWEEN of quoted UTC RFC 3339 literals", () => {
  assert.equal(
    expandMacros("WHERE $__timeFilter(event_minute)", range),
    `WHERE event_minute BETWEEN '${F}' AND '${T}'`,
  );
});

Deno.test("$__timeFrom() and $__timeTo() become the quoted range ends", () => {
  assert.equal(expandMacros("$__timeFrom() $__timeTo()", range), `'${F}' '${T}'`);
});

Deno.test("$__time aliases a column as time and $__timeEpoch extracts its epoch", () => {
  assert.equal(expandMacros("SELECT $__time(t)", range), 'SELECT t AS "time"');
  assert.equal(
    expandMacros("SELECT $__timeEpoch(t)", range),
    'SELECT extract(epoch from t) as "time"',
  );
});

Deno.test("$__timeGroup buckets epoch seconds and $__timeGroupAlias adds the time alias", () => {
  assert.equal(
    expandMacros("GROUP BY $__timeGroup(t,'5m')", range),
    "GROUP BY floor(extract(epoch from t)/300)*300",
  );
  assert.equal(
    expandMacros("SELECT $__timeGroupAlias(t, '5m')", range),
    'SELECT floor(extract(epoch from t)/300)*300 AS "time"',
  );
});

Deno.test("$__unixEpochFilter, $__unixEpochFrom() and $__unixEpochTo() use whole epoch seconds", () => {
  assert.equal(
    expandMacros("$__unixEpochFilter(ts)", range),
    `ts >= ${fromSeconds} AND ts <= ${toSeconds}`,
  );
  assert.equal(
    expandMacros("$__unixEpochFrom()-$__unixEpochTo()", range),
    `${fromSeconds}-${toSeconds}`,
  );
});

Deno.test("$__interval is the interval unquoted and $__interval_ms its milliseconds", () => {
  assert.equal(expandMacros("$__interval $__interval_ms", range), "1m 60000");
  assert.equal(
    expandMacros("$__interval $__interval_ms", { ...range, intervalMs: 1_800_000 }),
    "30m 1800000",
  );
  // Grafana truncates to the largest whole unit: 90 s is printed as 1m.
  assert.equal(expandMacros("$__interval", { ...range, intervalMs: 90_000 }), "1m");
  assert.equal(expandMacros("$__interval", { ...range, intervalMs: 86_400_000 }), "1d");
});

Deno.test("$__interval used as a group argument is replaced before the macro is expanded", () => {
  assert.equal(
    expandMacros("SELECT $__timeGroupAlias(t,$__interval)", { ...range, intervalMs: 3_600_000 }),
    'SELECT floor(extract(epoch from t)/3600)*3600 AS "time"',
  );
});

Deno.test("a $__timeGroup directly followed by a comma silently becomes the aliased form", () => {
  assert.equal(
    expandMacros("SELECT $__timeGroup(t,'1m'), count(*)", range),
    'SELECT floor(extract(epoch from t)/60)*60 AS "time", count(*)',
  );
});

Deno.test("the same $__timeGroup repeated in GROUP BY also gets the alias, which is invalid SQL", () => {
  assert.equal(
    expandMacros("SELECT $__timeGroup(t,'1m'), 1 GROUP BY $__timeGroup(t,'1m')", range),
    'SELECT floor(extract(epoch from t)/60)*60 AS "time", 1 ' +
      'GROUP BY floor(extract(epoch from t)/60)*60 AS "time"',
  );
});

Deno.test("an argument containing a parenthesis is cut at the first closing parenthesis", () => {
  assert.equal(
    expandMacros("WHERE $__timeFilter(date_trunc('hour', t))", range),
    `WHERE date_trunc('hour' BETWEEN '${F}' AND '${T}')`,
  );
});

Deno.test("interval arguments accept ms, s, m, h, d, w and Go durations", () => {
  const cases: Array<[string, string]> = [
    ["500ms", "0.5"],
    ["30s", "30"],
    ["1h30m", "5400"],
    ["1.5h", "5400"],
    ["1d", "86400"],
    ["1w", "604800"],
    // Go prints floats from 1e6 on in exponent form, which PostgreSQL accepts.
    ["30d", "2.592e+06"],
  ];
  for (const [interval, seconds] of cases) {
    assert.equal(
      expandMacros(`$__timeGroup(t,'${interval}')`, range),
      `floor(extract(epoch from t)/${seconds})*${seconds}`,
      interval,
    );
  }
});

Deno.test("$__unixEpochGroupAlias buckets a numeric epoch column", () => {
  assert.equal(
    expandMacros("$__unixEpochGroupAlias(ts,'1h')", range),
    'floor((ts)/3600)*3600 AS "time"',
  );
});

Deno.test("an unknown macro, a group without interval or a bad interval is refused", () => {
  assert.throws(() => expandMacros("$__nope(x)", range), MacroError);
  assert.throws(() => expandMacros("$__timeGroup(t)", range), /needs time column and interval/);
  assert.throws(() => expandMacros("$__timeGroup(t,'5 minutes')", range), /error parsing interval/);
  assert.throws(() => expandMacros("$__timeGroup(t,'1M')", range), /error parsing interval/);
});

Deno.test("a fractional second keeps only its significant digits, a whole second has none", () => {
  assert.equal(formatRfc3339Nano(new Date("2024-05-01T10:00:00.120Z")), "2024-05-01T10:00:00.12Z");
  assert.equal(formatRfc3339Nano(new Date("2024-05-01T10:00:00.000Z")), "2024-05-01T10:00:00Z");
  assert.equal(formatRfc3339Nano(new Date("2024-05-01T10:00:00.007Z")), "2024-05-01T10:00:00.007Z");
});

Deno.test("SQL without macros is left exactly as written", () => {
  const text = "SELECT 'a$b', $1 FROM t WHERE x = '$__' -- $__timeFilter";
  assert.equal(expandMacros(text, range), text);
});
