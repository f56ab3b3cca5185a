// The settings extension.js sends, read by a real `stagefront lsp`
// ($STAGEFRONT_BIN, which hack/vscode-test builds from this tree): the
// initializationOptions, and a configuration change as the extension's
// middleware sends it. The server speaks to vscode-jsonrpc, the library
// vscode-languageclient uses.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const rpc = require('vscode-jsonrpc/node');
const { load } = require('./fakevscode');

const BIN = process.env.STAGEFRONT_BIN;

const DOCKERFILE = [
  '# syntax=org/stagefront:1',
  'ARG DOCS=false',
  'IF DOCS',
  'FROM busybox AS docs',
  'RUN echo hi',
  'END',
  'FROM busybox',
  'COPY --from=docs /x /x',
  '',
].join('\n');

test('stagefront lsp reads the settings the extension sends', async (t) => {
  assert.ok(BIN, 'STAGEFRONT_BIN is not set: run hack/vscode-test, which builds stagefront and sets it');
  assert.ok(fs.existsSync(BIN), `STAGEFRONT_BIN=${BIN} does not exist`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stagefront-vscode-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  const uri = 'file://' + path.join(dir, 'Dockerfile');

  const server = cp.spawn(BIN, ['lsp'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d) => (stderr += d));
  t.after(() => server.kill());
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
  const published = [];
  let waiter;
  conn.onNotification('textDocument/publishDiagnostics', (p) => {
    published.push(p);
    if (waiter) waiter();
  });
  conn.onNotification('window/showMessage', (p) => published.push({ message: p }));
  conn.listen();
  t.after(() => conn.dispose());
  const nextDiagnostics = (timeout = 10000) =>
    new Promise((resolve, reject) => {
      const n = published.length;
      const timer = setTimeout(() => reject(new Error(`no diagnostics in ${timeout} ms; stderr: ${stderr}`)), timeout);
      waiter = () => {
        const p = published.slice(n).find((x) => x.uri === uri);
        if (p) {
          clearTimeout(timer);
          waiter = undefined;
          resolve(p.diagnostics);
        }
      };
    });

  // The extension, with DOCS=true written as a JSON boolean.
  const vs = load({ buildArgs: { DOCS: true }, debounceMs: 0 }, { client: conn });
  await vs.extension.activate(vs.context);
  const options = vs.clients[0].clientOptions;

  const init = await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: 'file://' + dir,
    workspaceFolders: [{ uri: 'file://' + dir, name: 'w' }],
    capabilities: {},
    initializationOptions: options.initializationOptions,
  });
  assert.equal(init.serverInfo.name, 'stagefront');
  assert.equal(init.capabilities.textDocumentSync.change, 1, 'full text synchronisation');
  await conn.sendNotification('initialized', {});

  let diags = nextDiagnostics();
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'stagefront-dockerfile', version: 1, text: DOCKERFILE } });
  diags = await diags;
  assert.deepEqual(
    diags.filter((d) => d.severity === 1),
    [],
    `with DOCS=true (initializationOptions) the docs stage is on: ${JSON.stringify(diags)}`,
  );

  // The user changes the build args: the middleware sends the section.
  const change = async (buildArgs) => {
    vs.setSettings({ buildArgs });
    const next = nextDiagnostics();
    await options.middleware.workspace.didChangeConfiguration(['stagefront'], async () => {});
    return next;
  };
  diags = await change({ DOCS: 'false' });
  const copy = diags.find((d) => d.range.start.line === 7 && d.severity === 1);
  assert.ok(copy, `with DOCS=false the COPY --from=docs line is an error: ${JSON.stringify(diags)}`);
  assert.match(copy.message, /turned off by IF DOCS/);
  // A boolean again: sent as "true", not dropped with the whole object.
  diags = await change({ DOCS: true });
  assert.deepEqual(diags.filter((d) => d.severity === 1), [], `DOCS=true again: ${JSON.stringify(diags)}`);

  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  await vs.extension.deactivate();
  assert.ok(!published.some((p) => p.message), `the server showed a message: ${JSON.stringify(published)}`);
});
