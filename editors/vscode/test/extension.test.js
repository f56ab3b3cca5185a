// extension.js against a stand-in VS Code (test/fakevscode.js).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('os');
const path = require('path');
const { load, FakeDocument } = require('./fakevscode');

const tick = () => new Promise((r) => setTimeout(r, 5));

test('isStagefrontDockerfile reads the parser directives as BuildKit does', () => {
  const { isStagefrontDockerfile: is } = load().extension;
  const yes = [
    ['# syntax=org/stagefront:1'],
    ['# syntax=org/stagefront'],
    ['#syntax = docker.io/org/stagefront:1-labs'],
    ['# SYNTAX=org/stagefront:1.0.0'],
    ['# syntax=org/stagefront@sha256:0123abcd'],
    ['# syntax=index.docker.io/org/stagefront:1'],
    ['\uFEFF# syntax=org/stagefront:1'],
    ['#!/usr/bin/env buildctl', '# syntax=org/stagefront:1'],
    ['# escape=`', '# check=skip=all', '# syntax=org/stagefront:1'],
    ['# syntax=org/stagefront:1 extra words'],
  ];
  const no = [
    [],
    ['FROM busybox'],
    ['# syntax=docker/dockerfile:1'],
    ['# syntax=org/stagefront-fork:1'],
    ['# syntax=myorg/stagefront:1'],
    ['', '# syntax=org/stagefront:1'], // an empty line ends the directives
    ['# a comment', '# syntax=org/stagefront:1'], // so does a comment
    ['# syntax=docker/dockerfile:1', '# syntax=org/stagefront:1'],
    [' # syntax=org/stagefront:1'],
  ];
  for (const lines of yes) assert.equal(is(lines), true, JSON.stringify(lines));
  for (const lines of no) assert.equal(is(lines), false, JSON.stringify(lines));
});

test('the firstLine pattern of package.json agrees on single lines', () => {
  const { isStagefrontDockerfile: is } = load().extension;
  const manifest = require('../package.json');
  const firstLine = new RegExp(manifest.contributes.languages[0].firstLine); // as VS Code compiles it
  for (const line of [
    '# syntax=org/stagefront:1',
    '#syntax = docker.io/org/stagefront:1-labs',
    '# Syntax=org/stagefront',
    '# syntax=org/stagefront@sha256:0123abcd',
    '# syntax=docker/dockerfile:1',
    '# syntax=org/stagefront-fork:1',
    'FROM busybox',
  ]) {
    assert.equal(firstLine.test(line), is([line]), line);
  }
});

test('serverCommand resolves stagefront.path', () => {
  const { serverCommand } = load().extension;
  assert.equal(serverCommand(undefined, '/ws'), 'stagefront');
  assert.equal(serverCommand('', '/ws'), 'stagefront');
  assert.equal(serverCommand('stagefront', '/ws'), 'stagefront');
  assert.equal(serverCommand('/opt/bin/stagefront', '/ws'), '/opt/bin/stagefront');
  assert.equal(serverCommand('~/go/bin/frontend', '/ws'), path.join(os.homedir(), 'go/bin/frontend'));
  assert.equal(serverCommand('./bin/stagefront', '/ws'), path.join('/ws', 'bin/stagefront'));
  assert.equal(serverCommand('bin/stagefront', undefined), 'bin/stagefront');
});

test('serverSettings are the object internal/lsp/settings.go reads', () => {
  const { serverSettings } = load().extension;
  const get = (o) => ({ get: (k) => o[k] });
  assert.deepEqual(serverSettings(get({})), { buildArgs: {}, target: '', platform: '', context: '', contexts: {} });
  assert.deepEqual(
    serverSettings(
      get({
        path: '/x/stagefront',
        buildArgs: { DOCS: true, N: 2, S: 'x', BAD: { a: 1 }, NIL: null },
        target: 'final',
        platform: 'linux/arm64',
        context: 'app',
        contexts: { fragments: '../shared', n: 1 },
        debounceMs: 99.6,
      }),
    ),
    {
      buildArgs: { DOCS: 'true', N: '2', S: 'x' },
      target: 'final',
      platform: 'linux/arm64',
      context: 'app',
      contexts: { fragments: '../shared', n: '1' },
      debounceMs: 100,
    },
  );
  assert.equal(serverSettings(get({ debounceMs: -5 })).debounceMs, 0);
  assert.deepEqual(serverSettings(get({ buildArgs: ['A=1'] })).buildArgs, {});
});

test('activate starts "stagefront lsp" for stagefront-dockerfile files with the settings', async () => {
  const vs = load({ path: 'stagefront', buildArgs: { DOCS: 'false' }, debounceMs: 150 });
  await vs.extension.activate(vs.context);
  assert.equal(vs.clients.length, 1);
  const c = vs.clients[0];
  assert.equal(c.id, 'stagefront'); // stagefront.trace.server is read by that id
  assert.deepEqual(c.serverOptions, { command: 'stagefront', args: ['lsp'] });
  assert.deepEqual(c.clientOptions.documentSelector, [{ scheme: 'file', language: 'stagefront-dockerfile' }]);
  assert.equal(c.clientOptions.synchronize.configurationSection, 'stagefront');
  assert.deepEqual(c.clientOptions.initializationOptions, {
    buildArgs: { DOCS: 'false' },
    target: '',
    platform: '',
    context: '',
    contexts: {},
    debounceMs: 150,
  });
  assert.equal(c.state, 'running');
  assert.ok(vs.commands['stagefront.restartServer']);

  // A change of the section is sent as {"stagefront": {...}}, current.
  vs.setSettings({ buildArgs: { DOCS: true } });
  await c.clientOptions.middleware.workspace.didChangeConfiguration(['stagefront'], async () => {
    throw new Error('the raw section must not be sent');
  });
  assert.deepEqual(c.notifications.at(-1), {
    method: 'workspace/didChangeConfiguration',
    params: { settings: { stagefront: { buildArgs: { DOCS: 'true' }, target: '', platform: '', context: '', contexts: {}, debounceMs: 150 } } },
  });
  assert.equal(vs.clients.length, 1, 'a change of the build args restarts nothing');

  await vs.extension.deactivate();
  assert.equal(c.state, 'disposed');
});

test('a change of stagefront.path restarts the server with the new binary', async () => {
  const vs = load({ path: 'stagefront' });
  await vs.extension.activate(vs.context);
  vs.setSettings({ path: './bin/stagefront' });
  await tick();
  await vs.commands['stagefront.restartServer'](); // waits for the restart in progress, then restarts again
  assert.equal(vs.clients[0].state, 'disposed');
  assert.equal(vs.clients[1].state, 'disposed');
  assert.deepEqual(vs.clients[1].serverOptions, { command: path.join('/work/space', 'bin/stagefront'), args: ['lsp'] });
  assert.equal(vs.clients[2].state, 'running');
  assert.equal(vs.clients.length, 3);
  await vs.extension.deactivate();
});

const within = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms))]);

test('a binary that cannot start says so and names stagefront.path', async () => {
  const vs = load({ path: 'nope' }, { failStart: (c) => c.serverOptions.command === 'nope' });
  // The notification stays open: activation does not wait for it.
  await within(vs.extension.activate(vs.context), 2000, 'activate');
  assert.equal(vs.errors.length, 1);
  assert.match(vs.errors[0][0], /cannot start "nope lsp".*ENOENT.*stagefront\.path/);
  // Setting a working path starts it.
  vs.setSettings({ path: 'stagefront' });
  await tick();
  assert.equal(vs.clients.at(-1).serverOptions.command, 'stagefront');
  assert.equal(vs.clients.at(-1).state, 'running');
  await within(vs.extension.deactivate(), 2000, 'deactivate');
});

test('a Dockerfile with the stagefront syntax line becomes stagefront-dockerfile; the user may switch it back', async () => {
  const vs = load({});
  const open = new FakeDocument('file:///w/Dockerfile', 'dockerfile', '# syntax=org/stagefront:1\nFROM busybox\nIF DOCS\nEND\n');
  vs.vscode.workspace.textDocuments.push(open);
  await vs.extension.activate(vs.context);
  assert.deepEqual(vs.switched, [{ uri: 'file:///w/Dockerfile', languageId: 'stagefront-dockerfile' }], 'a document open at activation');
  assert.equal(open.languageId, 'stagefront-dockerfile');

  const plain = new FakeDocument('file:///w/other/Dockerfile', 'dockerfile', '# syntax=docker/dockerfile:1\nFROM busybox\n');
  vs.fire('open', plain);
  const fragment = new FakeDocument('file:///w/x.Dockerfile', 'dockerfile', 'RUN echo\n');
  vs.fire('open', fragment);
  const markdown = new FakeDocument('file:///w/README.md', 'markdown', '# syntax=org/stagefront:1\n');
  vs.fire('open', markdown);
  assert.equal(vs.switched.length, 1);

  // The user picks Dockerfile again: it stays while the document is open.
  vs.changeLanguage(open, 'dockerfile');
  await tick();
  assert.equal(open.languageId, 'dockerfile');
  assert.equal(vs.switched.length, 1);
  // Closed and opened again, it is switched again.
  vs.fire('close', open);
  vs.fire('open', open);
  assert.equal(open.languageId, 'stagefront-dockerfile');
  assert.equal(vs.switched.length, 2);

  // Writing the syntax line into an open Dockerfile switches it.
  plain.lines[0] = '# syntax=org/stagefront:1-labs';
  vs.fire('change', { document: plain, contentChanges: [{ range: { start: { line: 0 } } }] });
  assert.equal(plain.languageId, 'stagefront-dockerfile');
  await vs.extension.deactivate();
});

test('stagefront.autoDetect=false leaves Dockerfiles alone', async () => {
  const vs = load({ autoDetect: false });
  await vs.extension.activate(vs.context);
  const doc = new FakeDocument('file:///w/Dockerfile', 'dockerfile', '# syntax=org/stagefront:1\n');
  vs.fire('open', doc);
  assert.equal(doc.languageId, 'dockerfile');
  assert.equal(vs.switched.length, 0);
  await vs.extension.deactivate();
});
