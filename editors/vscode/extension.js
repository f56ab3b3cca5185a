// stagefront for VS Code: the Dockerfile (stagefront) language, and a
// client of `stagefront lsp` for it. Plain JavaScript, no build step.
'use strict';

const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

const LANGUAGE = 'stagefront-dockerfile';
const SECTION = 'stagefront';

// A parser directive, as BuildKit reads the lines at the top of a
// Dockerfile (frontend/dockerfile/parser/directives.go): keys are
// case-insensitive, and the first line that is no directive ends them.
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const DIRECTIVE_KEYS = new Set(['syntax', 'escape', 'check']);
// The frontend image of a syntax directive: org/stagefront with any tag
// or digest (:1, :1-labs, @sha256:...), as Docker Hub's names normalise.
const STAGEFRONT_IMAGE = /^(?:(?:index\.)?docker\.io\/)?org\/stagefront(?:[:@]|$)/;

// isStagefrontDockerfile reports whether the first lines of a Dockerfile
// name stagefront as its frontend. BuildKit skips a BOM and a #! line
// before the directives; there are at most three directives.
function isStagefrontDockerfile(lines) {
  for (let i = 0; i < lines.length && i < 5; i++) {
    let line = lines[i];
    if (i === 0) {
      line = line.replace(/^\uFEFF/, '');
      if (line.startsWith('#!')) continue;
    }
    const m = DIRECTIVE.exec(line);
    if (!m) return false;
    const key = m[1].toLowerCase();
    if (key === 'syntax') return STAGEFRONT_IMAGE.test(m[2].split(' ')[0]);
    if (!DIRECTIVE_KEYS.has(key)) return false;
  }
  return false;
}

function firstLines(doc) {
  const n = Math.min(doc.lineCount, 5);
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(doc.lineAt(i).text);
  return lines;
}

// strings keeps the entries of a settings object whose values are text,
// numbers or booleans, as text: the server reads a map of strings, and
// {"DOCS": true} means "true".
function strings(obj) {
  const out = {};
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    }
  }
  return out;
}

// serverSettings are the settings object of internal/lsp/settings.go,
// from the stagefront configuration section.
function serverSettings(config) {
  const text = (v) => (typeof v === 'string' ? v : '');
  const s = {
    buildArgs: strings(config.get('buildArgs')),
    target: text(config.get('target')),
    platform: text(config.get('platform')),
    context: text(config.get('context')),
    contexts: strings(config.get('contexts')),
  };
  const debounce = config.get('debounceMs');
  if (typeof debounce === 'number' && Number.isFinite(debounce)) s.debounceMs = Math.max(0, Math.round(debounce));
  return s;
}

// serverCommand resolves stagefront.path: a bare name is looked up on
// PATH by the system, ~ is the home directory, and a relative path is
// relative to the first workspace folder.
function serverCommand(setting, folder) {
  let cmd = typeof setting === 'string' && setting.trim() !== '' ? setting.trim() : 'stagefront';
  if (cmd === '~' || cmd.startsWith('~/')) return path.join(os.homedir(), cmd.slice(1));
  if (!path.isAbsolute(cmd) && /[\\/]/.test(cmd) && folder) return path.join(folder, cmd);
  return cmd;
}

let client;
let clientOp = Promise.resolve();
let output;

function config() {
  return vscode.workspace.getConfiguration(SECTION);
}

function workspaceDir() {
  const folder = (vscode.workspace.workspaceFolders || []).find((f) => f.uri.scheme === 'file');
  return folder ? folder.uri.fsPath : undefined;
}

function createClient() {
  const command = serverCommand(config().get('path'), workspaceDir());
  const serverOptions = { command, args: ['lsp'] };
  const c = new LanguageClient(SECTION, 'stagefront', serverOptions, {
    // The server reads documents from disk paths: file: documents only
    // (an untitled document gets the highlighting, not the server).
    documentSelector: [{ scheme: 'file', language: LANGUAGE }],
    initializationOptions: serverSettings(config()),
    synchronize: { configurationSection: SECTION },
    outputChannel: output,
    middleware: {
      workspace: {
        // The section as the server reads it: {"stagefront": {...}},
        // with its values checked (a build arg written as a number or a
        // boolean is sent as text instead of failing the whole object).
        didChangeConfiguration: () =>
          c.sendNotification('workspace/didChangeConfiguration', { settings: { [SECTION]: serverSettings(config()) } }),
      },
    },
  });
  return { client: c, command };
}

// serialize runs the client operations one after the other.
function serialize(op) {
  clientOp = clientOp.then(op, op);
  return clientOp;
}

function startClient() {
  return serialize(async () => {
    const { client: c, command } = createClient();
    client = c;
    try {
      await c.start();
    } catch (err) {
      // Not awaited: a restart must not wait for the notification.
      vscode.window
        .showErrorMessage(
          `stagefront: cannot start "${command} lsp" (${(err && err.message) || err}). Install the stagefront binary on PATH or set stagefront.path.`,
          'Open Settings',
        )
        .then((pick) => {
          if (pick === 'Open Settings') vscode.commands.executeCommand('workbench.action.openSettings', 'stagefront.path');
        });
    }
  });
}

function stopClient() {
  return serialize(async () => {
    const c = client;
    client = undefined;
    if (c) {
      try {
        await c.dispose();
      } catch (err) {
        // A client that never started has nothing to stop.
      }
    }
  });
}

async function restartClient() {
  await stopClient();
  await startClient();
}

// Switching Dockerfiles with the stagefront syntax line to our language.
// A document the user switched back to Dockerfile stays there while open:
// VS Code reports a language change as a close followed by an open.
const leaving = new Set();
const keptByUser = new Set();

function maybeSwitch(doc) {
  if (doc.languageId !== 'dockerfile' || !config().get('autoDetect', true)) return;
  const key = doc.uri.toString();
  if (keptByUser.has(key) || !isStagefrontDockerfile(firstLines(doc))) return;
  vscode.languages.setTextDocumentLanguage(doc, LANGUAGE).then(undefined, () => {});
}

function activate(context) {
  output = vscode.window.createOutputChannel('stagefront');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('stagefront.restartServer', restartClient),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('stagefront.path')) restartClient();
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      const key = doc.uri.toString();
      if (doc.languageId === LANGUAGE) {
        leaving.add(key);
        setTimeout(() => leaving.delete(key), 0);
      } else if (doc.languageId === 'dockerfile') {
        keptByUser.delete(key);
      }
    }),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      const key = doc.uri.toString();
      if (doc.languageId === 'dockerfile' && leaving.has(key)) {
        keptByUser.add(key);
        return;
      }
      maybeSwitch(doc);
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      // The syntax line was just written (or a directive above it).
      if (e.contentChanges.some((c) => c.range.start.line < 5)) maybeSwitch(e.document);
    }),
  );
  vscode.workspace.textDocuments.forEach(maybeSwitch);
  return startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate, isStagefrontDockerfile, serverSettings, serverCommand };
