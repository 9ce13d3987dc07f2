import assert from "node:assert/strict";
import { arrayLiteral } from "./array_literal.ts";

Deno.test("a column of integers is written as a plain list", () => {
  assert.equal(arrayLiteral([1, -2, 1_796_000_000_000]), "{1,-2,1796000000000}");
  assert.equal(arrayLiteral([]), "{}");
});

Deno.test("text is always quoted, so empty strings, separators and the word NULL stay text", () => {
  assert.equal(
    arrayLiteral(["a", "", "NULL", "x,y", "{}", " b "]),
    '{"a","","NULL","x,y","{}"," b "}',
  );
});

Deno.test("quotes and backslashes in text are escaped and nulls are NULL", () => {
  assert.equal(
    arrayLiteral(['say "hi"', "C:\\x", null, "7"]),
    '{"say \\"hi\\"","C:\\\\x",NULL,"7"}',
  );
  assert.equal(arrayLiteral([null, 5n]), "{NULL,5}");
});

Deno.test("columns with gaps write NULL between plain numbers or quoted text", () => {
  assert.equal(arrayLiteral([1, null, 3]), "{1,NULL,3}");
  assert.equal(arrayLiteral([null, "a", "", null]), '{NULL,"a","",NULL}');
});

Deno.test("a number that is not a safe integer is refused, never written wrong", () => {
  for (const bad of [0.5, Number.NaN, Infinity, 2 ** 60]) {
    assert.throws(() => arrayLiteral([1, bad]), RangeError, String(bad));
    assert.throws(() => arrayLiteral(["a", null, bad]), RangeError, String(bad));
  }
});
