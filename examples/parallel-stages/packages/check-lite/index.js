// Fails on lines with trailing whitespace or "debugger" statements.
module.exports = function check(name, text) {
  const problems = [];
  text.split("\n").forEach((line, i) => {
    if (/\s+$/.test(line)) problems.push(`${name}:${i + 1}: trailing whitespace`);
    if (/\bdebugger\b/.test(line)) problems.push(`${name}:${i + 1}: debugger statement`);
  });
  return problems;
};
