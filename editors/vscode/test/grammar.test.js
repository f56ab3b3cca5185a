// The TextMate grammar, tokenized by VS Code's engine over VS Code's own
// Dockerfile grammar (run by hack/vscode-test).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { tokenize, grammarFiles, contributed, EXT } = require('./textmate');

const KEYWORD = 'keyword.control.stagefront';
const DOCKERFILE_KEYWORD = 'keyword.other.special-method.dockerfile';
const FLAG = 'entity.other.attribute-name.flag.stagefront';
const FUNCTION = 'support.function.stagefront';
const NAME = 'variable.other.arg.stagefront';
const CONDITION = 'meta.condition.stagefront';

const SAMPLE = [
  '# syntax=org/stagefront:1', //  0
  '# IF in a comment is a comment', //  1
  'ARG DOCS=true', //  2
  'ARG ENV=dev', //  3
  'FROM busybox AS test', //  4
  'RUN echo IF', //  5
  'REQUIRE test', //  6
  'IF DOCS', //  7
  'RUN --if=exists("docs/") make docs', //  8
  'ELSE IF ENV == "prod" && !defined(VERSION)', //  9
  `COPY --if='ENV == "prod"' a b`, // 10
  'ELSE', // 11
  `RUN --if="TARGETARCH == 'arm64'" ./fix-arm.sh`, // 12
  'END', // 13
  'INCLUDE --from=ctx stages/x.Dockerfile', // 14
  'INCLUDE --if=DOCS stages/${ENV}.Dockerfile', // 15
  'RUN set -e; \\', // 16
  '    if [ -f x ]; then \\', // 17
  '# a comment inside the continuation', // 18
  '      echo yes; \\', // 19
  '    fi', // 20
  'if docs', // 21
  'RUN <<EOF', // 22
  'if true; then', // 23
  '  end', // 24
  'EOF', // 25
  'end', // 26
  'FROM --if=DOCS golang:1.26 AS docs', // 27
  'RUN echo --if=x', // 28
  "IF ENV in ['staging', 'qa'] || ENV matches '^dev'", // 29
  'REQUIRE --if=DOCS test docs', // 30
  'End If', // 31
  "RUN --mount=type=cache,target=/root/.cache --if='!DOCS' \\", // 32
  '    IF=1 make', // 33
  'COPY <<-"EOT" /etc/motd', // 34
  "\tdon't IF", // 35
  '\tEOT', // 36
  '  ELSE IF DOCS', // 37
  '  ELSE', // 38
  'ONBUILD --if=DOCS RUN echo x', // 39
].join('\n');

let lines;
test.before(async () => {
  lines = await tokenize(SAMPLE);
});

// tokensOf returns the tokens of line n that cover the nth occurrence of
// word in it.
function tokensOf(n, word, nth = 0) {
  const line = lines[n].map((t) => t.text).join('');
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = line.indexOf(word, at + 1);
    assert.notEqual(at, -1, `line ${n} ${JSON.stringify(line)} has no ${nth + 1}th ${JSON.stringify(word)}`);
  }
  const out = [];
  let pos = 0;
  for (const t of lines[n]) {
    const end = pos + t.text.length;
    if (end > at && pos < at + word.length) out.push(t);
    pos = end;
  }
  return out;
}

function describeLine(n) {
  return lines[n].map((t) => `${JSON.stringify(t.text)}: ${t.scopes.slice(1).join(' ')}`).join('\n  ');
}

function has(n, word, scope, nth = 0) {
  for (const t of tokensOf(n, word, nth)) {
    assert.ok(t.scopes.includes(scope), `line ${n}: ${JSON.stringify(word)} should be ${scope}; tokens:\n  ${describeLine(n)}`);
  }
}

function hasNo(n, word, scopePrefix, nth = 0) {
  for (const t of tokensOf(n, word, nth)) {
    const bad = t.scopes.find((s) => s === scopePrefix || s.startsWith(scopePrefix + '.'));
    assert.ok(!bad, `line ${n}: ${JSON.stringify(word)} should not be ${scopePrefix}; tokens:\n  ${describeLine(n)}`);
  }
}

test('the grammar is the one package.json contributes, over VS Code\'s Dockerfile grammar', () => {
  assert.equal(contributed.scopeName, 'source.dockerfile.stagefront');
  assert.match(grammarFiles['source.dockerfile'], /tm-grammars[\\/]grammars[\\/]docker\.json$/);
  // Not a stand-in: the Dockerfile grammar scopes the instructions.
  has(4, 'FROM', DOCKERFILE_KEYWORD);
  has(4, 'AS', DOCKERFILE_KEYWORD);
  has(2, 'ARG', DOCKERFILE_KEYWORD);
  has(0, '# syntax', 'comment.line.number-sign.dockerfile');
});

test('IF, ELSE IF, ELSE, END are keywords, in any case and indented', () => {
  has(7, 'IF', KEYWORD);
  has(7, 'DOCS', NAME);
  has(7, 'DOCS', CONDITION);
  has(9, 'ELSE IF', KEYWORD);
  has(11, 'ELSE', KEYWORD);
  has(13, 'END', KEYWORD);
  has(21, 'if', KEYWORD);
  has(26, 'end', KEYWORD);
  has(31, 'End If', KEYWORD);
  has(37, 'ELSE IF', KEYWORD);
  has(37, 'DOCS', NAME);
  has(38, 'ELSE', KEYWORD);
});

test('conditions: names, operators, strings, functions', () => {
  has(9, 'ENV', NAME);
  has(9, '==', 'keyword.operator.comparison.stagefront');
  has(9, '"prod"', 'string.quoted.double.stagefront');
  has(9, '&&', 'keyword.operator.logical.stagefront');
  has(9, '!', 'keyword.operator.logical.stagefront');
  has(9, 'defined', FUNCTION);
  has(9, 'VERSION', NAME);
  has(29, 'in', 'keyword.operator.word.stagefront');
  has(29, "'staging'", 'string.quoted.single.stagefront');
  has(29, '[', 'punctuation.section.brackets.stagefront');
  has(29, '||', 'keyword.operator.logical.stagefront');
  has(29, 'matches', 'keyword.operator.word.stagefront');
});

test('REQUIRE and INCLUDE', () => {
  has(6, 'REQUIRE', KEYWORD);
  has(6, 'test', 'entity.name.type.stage.stagefront');
  has(30, 'REQUIRE', KEYWORD);
  has(30, '--if', FLAG);
  has(30, 'DOCS', NAME);
  has(30, 'test', 'entity.name.type.stage.stagefront');
  hasNo(30, 'test', CONDITION);
  has(14, 'INCLUDE', KEYWORD);
  has(14, '--from', FLAG);
  has(14, 'ctx', 'entity.name.namespace.context.stagefront');
  has(14, 'stages/x.Dockerfile', 'string.unquoted.path.stagefront');
  has(15, '--if', FLAG);
  has(15, 'DOCS', NAME);
  has(15, '${ENV}', 'variable.other.readwrite.stagefront');
  has(15, 'stages/', 'string.unquoted.path.stagefront');
});

test('--if= on an instruction: the flag and its condition, the rest the Dockerfile grammar\'s', () => {
  has(8, 'RUN', DOCKERFILE_KEYWORD);
  has(8, '--if', FLAG);
  has(8, 'exists', FUNCTION);
  has(8, '"docs/"', 'string.quoted.double.stagefront');
  hasNo(8, 'make', CONDITION);
  hasNo(8, 'make', 'keyword');

  has(10, 'COPY', DOCKERFILE_KEYWORD);
  has(10, '--if', FLAG);
  has(10, 'ENV', NAME);
  has(10, '==', 'keyword.operator.comparison.stagefront');
  has(10, '"prod"', 'string.quoted.double.stagefront');
  hasNo(10, ' a b', CONDITION);

  has(12, '--if', FLAG);
  has(12, 'TARGETARCH', NAME);
  has(12, "'arm64'", 'string.quoted.single.stagefront');
  hasNo(12, './fix-arm.sh', CONDITION);

  has(27, 'FROM', DOCKERFILE_KEYWORD);
  has(27, '--if', FLAG);
  has(27, 'DOCS', NAME);
  has(27, 'AS', DOCKERFILE_KEYWORD);
  hasNo(27, 'golang', CONDITION);

  // After other flags, and with a continuation line that starts with IF.
  has(32, '--if', FLAG);
  has(32, 'DOCS', NAME);
  hasNo(32, '--mount', FLAG);
  hasNo(33, 'IF', KEYWORD);

  has(39, 'ONBUILD', 'keyword.control.dockerfile');
  has(39, '--if', FLAG);
  has(39, 'RUN', DOCKERFILE_KEYWORD);
  hasNo(39, 'echo', CONDITION);
});

test('IF inside a RUN, its continuation lines, a heredoc, a comment or a flag value is no keyword', () => {
  has(5, 'RUN', DOCKERFILE_KEYWORD);
  hasNo(5, 'IF', KEYWORD);
  hasNo(1, 'IF', KEYWORD);
  has(1, 'IF', 'comment.line.number-sign.dockerfile');
  hasNo(17, 'if', KEYWORD);
  has(18, '# a comment', 'comment.line.number-sign.dockerfile');
  hasNo(20, 'fi', KEYWORD);
  // heredoc body, up to its terminator
  has(22, '<<', 'keyword.operator.heredoc.stagefront');
  has(22, 'EOF', 'keyword.control.heredoc-token.stagefront');
  hasNo(23, 'if', KEYWORD);
  has(23, 'if', 'string.unquoted.heredoc.stagefront');
  hasNo(24, 'end', KEYWORD);
  has(25, 'EOF', 'keyword.control.heredoc-token.stagefront');
  // <<- strips tabs; a quote in the body opens no string
  hasNo(35, 'IF', KEYWORD);
  has(36, 'EOT', 'keyword.control.heredoc-token.stagefront');
  // a --if= inside the command is no flag
  hasNo(28, '--if', FLAG);
});

// The lines of a Dockerfile whose instruction is an extension keyword,
// worked out as BuildKit's parser reads lines: continuation lines (a
// trailing backslash; comment and empty lines inside are skipped) and
// heredoc bodies of RUN, COPY and ADD belong to their instruction.
function keywordLines(text) {
  const out = new Set();
  const lines = text.split(/\r?\n/);
  let logical = null; // the instruction being continued
  const heredocs = [];
  const continues = (l) => /\\[ \t]*$/.test(l);
  const startHeredocs = (instruction) => {
    if (!/^\s*(?:onbuild\s+)?(?:run|copy|add)\s/i.test(instruction)) return;
    for (const word of instruction.split(/\s+/)) {
      const m = /^\d*<<(-?)(["']?)([^\s<"']+)\2$/.exec(word);
      if (m) heredocs.push({ chomp: m[1] === '-', name: m[3] });
    }
  };
  lines.forEach((line, i) => {
    if (heredocs.length) {
      const h = heredocs[0];
      if ((h.chomp ? line.replace(/^\t+/, '') : line) === h.name) heredocs.shift();
      return;
    }
    if (logical !== null) {
      if (/^\s*(#|$)/.test(line)) return;
      logical += ' ' + line.replace(/\\[ \t]*$/, '');
      if (!continues(line)) {
        startHeredocs(logical);
        logical = null;
      }
      return;
    }
    if (/^\s*(#|$)/.test(line)) return;
    if (/^\s*(?:if|else|end|require|include)(?:\s|$)/i.test(line)) out.add(i);
    if (continues(line)) logical = line.replace(/\\[ \t]*$/, '');
    else startHeredocs(line);
  });
  return out;
}

function dockerfiles(dir) {
  const out = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...dockerfiles(p));
    else if (e.name === 'Dockerfile' || e.name.endsWith('.Dockerfile')) out.push(p);
  }
  return out;
}

test('the keywords of the repository\'s Dockerfiles are where BuildKit\'s line reading puts them', async () => {
  const root = path.join(EXT, '..', '..');
  const examples = dockerfiles(path.join(root, 'examples'));
  assert.ok(examples.length >= 10, `examples/ has ${examples.length} Dockerfiles`);
  // The rewrite cases too: shell if/else/end in continuations and
  // heredocs, keywords in any case, blocks, errors.
  const files = [...examples, ...dockerfiles(path.join(root, 'frontend', 'rewrite', 'testdata'))];
  let checked = 0;
  let keywords = 0;
  for (const file of files) {
    // VS Code keeps a BOM out of the text it tokenizes, as BuildKit skips it.
    const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    // A backtick continuation (# escape=`) is not followed by the grammar.
    if (/^#\s*escape\s*=/im.test(text)) continue;
    const want = keywordLines(text);
    const got = await tokenize(text);
    got.forEach((tokens, i) => {
      const kw = tokens.filter((t) => t.scopes.includes(KEYWORD));
      const where = `${path.relative(root, file)}:${i + 1}: ${JSON.stringify(text.split(/\r?\n/)[i])}`;
      if (want.has(i)) {
        const first = tokens.find((t) => t.text.trim() !== '');
        assert.ok(first && first.scopes.includes(KEYWORD), `${where} should start with a keyword`);
        keywords++;
      } else {
        assert.equal(kw.length, 0, `${where} has no extension keyword, but ${JSON.stringify(kw.map((t) => t.text))} is scoped ${KEYWORD}`);
      }
    });
    checked++;
  }
  assert.ok(checked >= examples.length);
  assert.ok(keywords > 20, `only ${keywords} keyword lines in ${checked} files`);
});
