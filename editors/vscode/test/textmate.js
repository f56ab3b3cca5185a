// Tokenizing with VS Code's own TextMate engine: the extension's grammar
// over VS Code's Dockerfile grammar, as the editor loads them.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const EXT = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(EXT, 'package.json'), 'utf8'));
const contributed = manifest.contributes.grammars.find((g) => g.language === 'stagefront-dockerfile');

// VS Code's Dockerfile grammar (extensions/docker/syntaxes/docker.tmLanguage.json
// of the vscode repository), as the tm-grammars package ships it.
const DOCKERFILE_GRAMMAR = require.resolve('tm-grammars/grammars/docker.json');

const grammarFiles = {
  [contributed.scopeName]: path.join(EXT, contributed.path),
  'source.dockerfile': DOCKERFILE_GRAMMAR,
};

let registry;
function getRegistry() {
  if (!registry) {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    const onigLib = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength)).then(() => ({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }));
    registry = new vsctm.Registry({
      onigLib,
      loadGrammar: async (scopeName) => {
        const file = grammarFiles[scopeName];
        if (!file) return null;
        return vsctm.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
      },
    });
  }
  return registry;
}

// tokenize returns, for each line of text, its tokens: {text, scopes}.
// Messages the engine logs (an endless loop in the grammar, a bad regex)
// fail the tokenization.
async function tokenize(text, scopeName = contributed.scopeName) {
  const grammar = await getRegistry().loadGrammar(scopeName);
  if (!grammar) throw new Error(`no grammar for ${scopeName}`);
  const logged = [];
  const { error, warn, log } = console;
  console.error = console.warn = console.log = (...args) => logged.push(args.join(' '));
  let lines;
  try {
    let state = vsctm.INITIAL;
    lines = text.split(/\r?\n/).map((line) => {
      const r = grammar.tokenizeLine(line, state);
      state = r.ruleStack;
      return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
    });
  } finally {
    Object.assign(console, { error, warn, log });
  }
  if (logged.length) throw new Error(`the TextMate engine logged: ${logged.join('\n')}`);
  return lines;
}

module.exports = { tokenize, grammarFiles, contributed, manifest, EXT };
