const test = require("node:test");
const assert = require("node:assert");
const greet = require("greet");

test("greets by name", () => {
  assert.strictEqual(greet("stagefront"), "hello, stagefront");
  assert.strictEqual(greet(), "hello, world");
});
