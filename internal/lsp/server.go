// Package lsp is stagefront's language server (`stagefront lsp`): the
// Language Server Protocol over stdio, answered from the same pipeline as
// the CLI (syntax, analysis, rewrite with its fragments, checks), offline
// and on the editor's unsaved text.
//
// The protocol's types and its JSON-RPC come from go.lsp.dev/protocol and
// go.lsp.dev/jsonrpc2 (v0.10, the version that package is built on): typed
// LSP structures, Content-Length framing, request cancellation, and no
// global state; buf's language server is built on the same pair.
// Diagnostics are published (textDocument/publishDiagnostics) after each
// change, a burst of changes debounced; every request answers from the
// analysis of the document's current text.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/internal/version"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// gcPercent is the garbage collector's target while a server runs: it
// keeps little (the latest analysis of each open file) and runs the whole
// pipeline on each change, a burst of short-lived allocations that the
// default of 100 collects several times (a quarter of the latency of a
// large file's diagnostics; see BenchmarkDiagnostics).
const gcPercent = 400

// Serve answers the protocol on rwc (the editor's stdin and stdout) until
// the client sends exit or closes the stream. It is the process's work:
// it sets the garbage collector's target (gcPercent) while it runs.
func Serve(ctx context.Context, rwc io.ReadWriteCloser) error {
	defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(rwc))
	s := newServer(conn)
	conn.Go(ctx, protocol.Handlers(s.handle))
	select {
	case <-conn.Done():
	case <-s.exitCh: // the client said exit: done, whether or not it closes its end
	case <-ctx.Done():
		conn.Close()
	}
	s.stop()
	if err := conn.Err(); err != nil && !errors.Is(err, io.EOF) && !s.exited() {
		return err
	}
	return nil
}

// pathOf is the path of a document's URI: the file of a file: URI, or
// the URI itself for another scheme (an editor's unsaved, untitled
// buffer), whose INCLUDEs and exists() then read nothing.
func pathOf(u protocol.DocumentURI) string {
	if strings.HasPrefix(string(u), "file:") {
		return filepath.Clean(u.Filename())
	}
	return string(u)
}

// uriOf is the URI of a path of pathOf: a file's, or the URI it is.
func uriOf(path string) protocol.DocumentURI {
	if filepath.IsAbs(path) {
		return uri.File(path)
	}
	return protocol.DocumentURI(path)
}

// server is one client's session.
type server struct {
	conn jsonrpc2.Conn

	mu       sync.Mutex
	docs     map[string]*document // by path
	settings Settings
	root     string
	exit     bool
	// published are, for each main document, the paths it published
	// diagnostics for (to clear the ones it no longer has).
	published map[string]map[string]bool
	// includedBy maps the path of a fragment to the open Dockerfile that
	// includes it: its diagnostics are that file's, and it is not
	// analysed as a Dockerfile of its own.
	includedBy map[string]string
	// publishMu keeps the publications in order.
	publishMu sync.Mutex
	ctx       context.Context
	cancel    context.CancelFunc
	// exitCh is closed when the client sends exit.
	exitCh chan struct{}
}

// document is an open document.
type document struct {
	uri     protocol.DocumentURI
	path    string
	version int32
	data    []byte
	// snap is the analysis of the latest version done (nil before the
	// first); run the analysis in progress or planned.
	snap *snapshot
	run  *run
	// expanded is the analysis of the last rewrite that succeeded, its
	// fragments included: the stages a completion offers while the text
	// has an error.
	expanded *analysis.File
	// lastRun is when the last analysis started, for the debounce.
	lastRun time.Time
}

// run is an analysis of a document: planned (timer), then running.
type run struct {
	timer  *time.Timer
	cancel context.CancelFunc
	done   chan struct{}
}

func newServer(conn jsonrpc2.Conn) *server {
	ctx, cancel := context.WithCancel(context.Background())
	return &server{conn: conn, docs: map[string]*document{}, published: map[string]map[string]bool{}, includedBy: map[string]string{}, ctx: ctx, cancel: cancel, exitCh: make(chan struct{})}
}

func (s *server) stop() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.docs {
		if d.run != nil && d.run.timer != nil {
			d.run.timer.Stop()
		}
	}
}

func (s *server) exited() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exit
}

// handle dispatches one message.
func (s *server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	switch req.Method() {
	case protocol.MethodInitialize:
		res, err := s.initialize(req.Params())
		return reply(ctx, res, err)
	case protocol.MethodInitialized:
		return reply(ctx, nil, nil)
	case protocol.MethodShutdown:
		return reply(ctx, nil, nil)
	case protocol.MethodExit:
		s.mu.Lock()
		if !s.exit {
			s.exit = true
			close(s.exitCh)
		}
		s.mu.Unlock()
		err := reply(ctx, nil, nil)
		s.conn.Close()
		return err
	case protocol.MethodTextDocumentDidOpen:
		var p protocol.DidOpenTextDocumentParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			return reply(ctx, nil, err)
		}
		s.open(p.TextDocument.URI, p.TextDocument.Version, []byte(p.TextDocument.Text))
		return reply(ctx, nil, nil)
	case protocol.MethodTextDocumentDidChange:
		var p protocol.DidChangeTextDocumentParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			return reply(ctx, nil, err)
		}
		if n := len(p.ContentChanges); n > 0 {
			// Full synchronisation: the last change is the whole text.
			s.change(p.TextDocument.URI, p.TextDocument.Version, []byte(p.ContentChanges[n-1].Text))
		}
		return reply(ctx, nil, nil)
	case protocol.MethodTextDocumentDidSave:
		s.scheduleAll()
		return reply(ctx, nil, nil)
	case protocol.MethodTextDocumentDidClose:
		var p protocol.DidCloseTextDocumentParams
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			return reply(ctx, nil, err)
		}
		s.close(p.TextDocument.URI)
		return reply(ctx, nil, nil)
	case protocol.MethodWorkspaceDidChangeConfiguration:
		var p struct {
			Settings json.RawMessage `json:"settings"`
		}
		if err := json.Unmarshal(req.Params(), &p); err != nil {
			return reply(ctx, nil, err)
		}
		settings, err := parseSettings(p.Settings)
		if err != nil {
			s.showError(ctx, err)
			return reply(ctx, nil, nil)
		}
		s.mu.Lock()
		s.settings = settings
		s.mu.Unlock()
		s.scheduleAll()
		return reply(ctx, nil, nil)
	}
	if h, ok := requests[req.Method()]; ok {
		return h(s, ctx, reply, req)
	}
	return jsonrpc2.MethodNotFoundHandler(ctx, reply, req)
}

// initialize reads the client's settings and workspace, and says what
// the server does.
func (s *server) initialize(raw json.RawMessage) (any, error) {
	var p protocol.InitializeParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	opts, err := json.Marshal(p.InitializationOptions)
	if err != nil {
		return nil, err
	}
	settings, err := parseSettings(opts)
	if err != nil {
		return nil, err
	}
	root := ""
	switch {
	case len(p.WorkspaceFolders) > 0:
		root = pathOf(protocol.DocumentURI(p.WorkspaceFolders[0].URI))
	case p.RootURI != "":
		root = pathOf(p.RootURI)
	}
	s.mu.Lock()
	s.settings, s.root = settings, root
	s.mu.Unlock()
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: protocol.TextDocumentSyncOptions{
				OpenClose: true,
				Change:    protocol.TextDocumentSyncKindFull,
				Save:      &protocol.SaveOptions{},
			},
			HoverProvider:          true,
			DefinitionProvider:     true,
			ReferencesProvider:     true,
			DocumentSymbolProvider: true,
			FoldingRangeProvider:   true,
			CompletionProvider:     &protocol.CompletionOptions{TriggerCharacters: []string{"=", " ", "/", "("}},
			CodeActionProvider:     &protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{protocol.QuickFix}},
		},
		ServerInfo: &protocol.ServerInfo{Name: "stagefront", Version: version.Version},
	}, nil
}

// showError tells the user of a problem that is no diagnostic.
func (s *server) showError(ctx context.Context, err error) {
	_ = s.conn.Notify(ctx, protocol.MethodWindowShowMessage, &protocol.ShowMessageParams{Type: protocol.MessageTypeError, Message: err.Error()})
}

func (s *server) open(u protocol.DocumentURI, version int32, data []byte) {
	p := pathOf(u)
	s.mu.Lock()
	s.docs[p] = &document{uri: u, path: p, version: version, data: data}
	s.mu.Unlock()
	s.scheduleAll()
}

func (s *server) change(u protocol.DocumentURI, version int32, data []byte) {
	p := pathOf(u)
	s.mu.Lock()
	d, ok := s.docs[p]
	if ok {
		d.version, d.data = version, data
	}
	s.mu.Unlock()
	if ok {
		s.scheduleAll()
	}
}

func (s *server) close(u protocol.DocumentURI) {
	p := pathOf(u)
	s.mu.Lock()
	d, ok := s.docs[p]
	if ok {
		if d.run != nil && d.run.timer != nil {
			d.run.timer.Stop()
		}
		if d.run != nil && d.run.cancel != nil {
			d.run.cancel()
		}
		delete(s.docs, p)
	}
	paths := s.published[p]
	delete(s.published, p)
	s.mu.Unlock()
	// Its diagnostics, and those it gave its fragments, are gone; the
	// other documents are analysed again (it may have been a fragment).
	s.publishMu.Lock()
	for q := range paths {
		s.publish(q, nil, 0)
	}
	if !paths[p] {
		s.publish(p, nil, 0)
	}
	s.publishMu.Unlock()
	s.scheduleAll()
}

// publish sends the diagnostics of path (publishMu held).
func (s *server) publish(path string, diags []protocol.Diagnostic, version int32) {
	if diags == nil {
		diags = []protocol.Diagnostic{}
	}
	_ = s.conn.Notify(s.ctx, protocol.MethodTextDocumentPublishDiagnostics, &publishParams{
		URI: uriOf(path), Version: version, Diagnostics: diags,
	})
}

// publishParams are protocol.PublishDiagnosticsParams with the version
// always sent: there it is left out when 0, the version Neovim opens a
// document with.
type publishParams struct {
	URI         protocol.DocumentURI  `json:"uri"`
	Version     int32                 `json:"version"`
	Diagnostics []protocol.Diagnostic `json:"diagnostics"`
}
