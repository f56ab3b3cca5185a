// A stand-in for the vscode module and vscode-languageclient/node, enough
// for extension.js: it records what the extension asks of VS Code.
'use strict';

const Module = require('module');
const path = require('path');

const EXTENSION = path.join(__dirname, '..', 'extension.js');

class FakeDocument {
  constructor(uri, languageId, text) {
    this.uri = { scheme: uri.split(':')[0], toString: () => uri };
    this.languageId = languageId;
    this.lines = text.split('\n');
  }
  get lineCount() {
    return this.lines.length;
  }
  lineAt(i) {
    return { text: this.lines[i] };
  }
}

// load loads a fresh extension.js against a new fake VS Code whose
// stagefront settings are settings (mutable through vs.setSettings).
function load(settings = {}, { failStart = () => false, client } = {}) {
  const listeners = { open: [], close: [], change: [], config: [] };
  const on = (kind) => (f) => {
    listeners[kind].push(f);
    return { dispose() {} };
  };
  const fire = (kind, arg) => listeners[kind].forEach((f) => f(arg));
  const vs = {
    settings: { ...settings },
    clients: [],
    errors: [],
    switched: [],
    commands: {},
    fire,
    FakeDocument,
  };
  vs.setSettings = (changed) => {
    Object.assign(vs.settings, changed);
    fire('config', { affectsConfiguration: (s) => Object.keys(changed).some((k) => `stagefront.${k}` === s || `stagefront.${k}`.startsWith(s + '.') || s === 'stagefront') });
  };
  // VS Code reports a language change as a close, then an open.
  vs.changeLanguage = (doc, languageId) => {
    fire('close', doc);
    doc.languageId = languageId;
    fire('open', doc);
  };
  const vscode = {
    workspace: {
      getConfiguration: (section) => {
        if (section !== 'stagefront') throw new Error(`unexpected configuration section ${section}`);
        return { get: (k, d) => (vs.settings[k] === undefined ? d : vs.settings[k]) };
      },
      workspaceFolders: [{ uri: { scheme: 'file', fsPath: '/work/space' } }],
      textDocuments: [],
      onDidChangeConfiguration: on('config'),
      onDidOpenTextDocument: on('open'),
      onDidCloseTextDocument: on('close'),
      onDidChangeTextDocument: on('change'),
    },
    window: {
      createOutputChannel: () => ({ append() {}, appendLine() {}, dispose() {} }),
      // A notification stays until the user closes it.
      showErrorMessage: (...args) => {
        vs.errors.push(args);
        return new Promise(() => {});
      },
    },
    commands: {
      registerCommand: (id, f) => {
        vs.commands[id] = f;
        return { dispose() {} };
      },
      executeCommand: async () => {},
    },
    languages: {
      setTextDocumentLanguage: async (doc, languageId) => {
        vs.switched.push({ uri: doc.uri.toString(), languageId });
        vs.changeLanguage(doc, languageId);
        return doc;
      },
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, state: 'new', notifications: [] });
      vs.clients.push(this);
    }
    async start() {
      if (failStart(this)) {
        this.state = 'startFailed';
        throw new Error(`spawn ${this.serverOptions.command} ENOENT`);
      }
      this.state = 'running';
    }
    async dispose() {
      this.state = 'disposed';
    }
    async sendNotification(method, params) {
      if (client) return client.sendNotification(method, params);
      this.notifications.push({ method, params });
    }
  }
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return { LanguageClient };
    return load.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve(EXTENSION)];
    vs.extension = require(EXTENSION);
  } finally {
    Module._load = load;
  }
  vs.vscode = vscode;
  vs.context = { subscriptions: [] };
  return vs;
}

module.exports = { load, FakeDocument };
