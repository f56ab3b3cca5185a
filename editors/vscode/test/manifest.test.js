// package.json's contributions, the language configuration, and the
// settings against the server's (internal/lsp/settings.go).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');

const EXT = path.join(__dirname, '..');
const ROOT = path.join(EXT, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(EXT, 'package.json'), 'utf8'));
const LANGUAGE = 'stagefront-dockerfile';

const minVersion = (range) => {
  const m = /^\^?(\d+)\.(\d+)\.(\d+)$/.exec(range);
  assert.ok(m, `unexpected version range ${range}`);
  return m.slice(1).map(Number);
};
const atLeast = (a, b) => a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] >= b[2];

test('the manifest names the extension, its entry point and its client library', () => {
  assert.equal(manifest.name, 'stagefront');
  assert.equal(manifest.publisher, 'org');
  assert.ok(fs.existsSync(path.join(EXT, manifest.main)), `main ${manifest.main} exists`);
  assert.match(manifest.dependencies['vscode-languageclient'], /^\^9\./);
  // vscode-languageclient 9 needs VS Code 1.82: the manifest may not claim less.
  const lc = require('vscode-languageclient/package.json');
  assert.ok(
    atLeast(minVersion(manifest.engines.vscode), minVersion(lc.engines.vscode)),
    `engines.vscode ${manifest.engines.vscode} is older than vscode-languageclient ${lc.version}'s ${lc.engines.vscode}`,
  );
  for (const event of [`onLanguage:${LANGUAGE}`, 'onLanguage:dockerfile']) {
    assert.ok(manifest.activationEvents.includes(event), event);
  }
  const lock = JSON.parse(fs.readFileSync(path.join(EXT, 'package-lock.json'), 'utf8'));
  assert.equal(lock.packages[''].dependencies['vscode-languageclient'], manifest.dependencies['vscode-languageclient'], 'package-lock.json is in step');
  assert.deepEqual(lock.packages[''].devDependencies, manifest.devDependencies, 'package-lock.json is in step');
});

test('the language: id, name, first line, and no file names claimed', () => {
  const [lang, ...others] = manifest.contributes.languages;
  assert.equal(others.length, 0);
  assert.equal(lang.id, LANGUAGE);
  assert.equal(lang.aliases[0], 'Dockerfile (stagefront)');
  for (const key of ['filenames', 'filenamePatterns', 'extensions']) {
    assert.equal(lang[key], undefined, `${key}: fragments stay plain Dockerfiles unless the user associates them`);
  }
  const firstLine = new RegExp(lang.firstLine);
  assert.ok(firstLine.test('# syntax=org/stagefront:1'));
  assert.ok(firstLine.test('# syntax=docker.io/org/stagefront:1-labs'));
  assert.ok(!firstLine.test('# syntax=docker/dockerfile:1'));
  assert.ok(fs.existsSync(path.join(EXT, lang.configuration)), lang.configuration);
});

test('the grammar contribution points at the grammar of the language', () => {
  const [grammar, ...others] = manifest.contributes.grammars;
  assert.equal(others.length, 0);
  assert.equal(grammar.language, LANGUAGE);
  const file = path.join(EXT, grammar.path);
  assert.ok(fs.existsSync(file), `${grammar.path} exists`);
  const g = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(g.scopeName, grammar.scopeName);
  assert.ok(JSON.stringify(g).includes('"include":"source.dockerfile"'), 'the grammar delegates to VS Code\'s Dockerfile grammar');
});

test('the settings: the server\'s (internal/lsp/settings.go), the binary, and workspace trust', () => {
  const props = manifest.contributes.configuration.properties;
  const want = {
    'stagefront.path': ['string', 'stagefront'],
    'stagefront.buildArgs': ['object', {}],
    'stagefront.target': ['string', ''],
    'stagefront.platform': ['string', ''],
    'stagefront.context': ['string', ''],
    'stagefront.contexts': ['object', {}],
    'stagefront.debounceMs': ['integer', 150],
  };
  for (const [key, [type, def]] of Object.entries(want)) {
    assert.ok(props[key], key);
    assert.equal(props[key].type, type, `${key} type`);
    assert.deepEqual(props[key].default, def, `${key} default`);
  }
  // Every field of the server's Settings has its setting.
  const go = fs.readFileSync(path.join(ROOT, 'internal', 'lsp', 'settings.go'), 'utf8');
  const struct = /type Settings struct \{([\s\S]*?)\n\}/.exec(go);
  assert.ok(struct, 'internal/lsp/settings.go has type Settings struct');
  const fields = [...struct[1].matchAll(/json:"([A-Za-z]+)/g)].map((m) => m[1]);
  assert.ok(fields.length >= 6, `fields ${fields}`);
  for (const f of fields) assert.ok(props[`stagefront.${f}`], `stagefront.${f} (Settings.${f} of the server)`);
  // A workspace may not pick the binary VS Code runs unless it is trusted.
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['stagefront.path']);
  // The commands contributed are the ones extension.js registers.
  const js = fs.readFileSync(path.join(EXT, manifest.main), 'utf8');
  for (const c of manifest.contributes.commands) assert.ok(js.includes(`'${c.command}'`), c.command);
});

test('language-configuration.json: comments, brackets, and IF ... END folding markers as VS Code compiles them', () => {
  const lang = manifest.contributes.languages[0];
  const conf = JSON.parse(fs.readFileSync(path.join(EXT, lang.configuration), 'utf8'));
  assert.equal(conf.comments.lineComment, '#');
  assert.ok(conf.brackets.some(([a, b]) => a === '(' && b === ')'));
  // VS Code: new RegExp(value, '') for a string; JavaScript has no (?i:...)
  // in the V8 of VS Code 1.82, so the case is in character classes.
  const start = new RegExp(conf.folding.markers.start, '');
  const end = new RegExp(conf.folding.markers.end, '');
  for (const l of ['IF DOCS', 'if docs', '  If A && B', 'IF']) assert.ok(start.test(l), `start: ${l}`);
  for (const l of ['ELSE IF A', 'ELSE', 'IFX', 'RUN if x', '# IF', 'INCLUDE x']) assert.ok(!start.test(l), `not start: ${l}`);
  for (const l of ['END', 'end', '  End If']) assert.ok(end.test(l), `end: ${l}`);
  for (const l of ['ENDX', 'ENV A=1', 'RUN end']) assert.ok(!end.test(l), `not end: ${l}`);
});

test('node_modules and packages stay out of git', () => {
  const ignore = fs.readFileSync(path.join(EXT, '.gitignore'), 'utf8').split('\n');
  assert.ok(ignore.includes('node_modules/'));
  assert.ok(ignore.includes('*.vsix'));
  const vscodeignore = fs.readFileSync(path.join(EXT, '.vscodeignore'), 'utf8').split('\n');
  assert.ok(vscodeignore.includes('test/**'), 'the tests are not packaged');
});
