package lsp

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// client is an editor talking to a server in-process, over a pipe, with
// the real protocol.
type client struct {
	t    testing.TB
	conn jsonrpc2.Conn
	dir  string

	mu      sync.Mutex
	diags   map[string]protocol.PublishDiagnosticsParams // latest, by path
	changed chan struct{}
	version map[string]int32
}

// newClient starts a server, initializes it with settings, and opens
// nothing yet. Files are written under a temporary workspace.
func newClient(t testing.TB, settings any) *client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	serverEnd, clientEnd := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, serverEnd) }()
	c := &client{t: t, dir: t.TempDir(), diags: map[string]protocol.PublishDiagnosticsParams{}, changed: make(chan struct{}, 1), version: map[string]int32{}}
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(clientEnd))
	c.conn.Go(ctx, func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == protocol.MethodTextDocumentPublishDiagnostics {
			var p protocol.PublishDiagnosticsParams
			if err := json.Unmarshal(req.Params(), &p); err != nil {
				t.Errorf("publishDiagnostics: %v", err)
			}
			c.mu.Lock()
			c.diags[pathOf(p.URI)] = p
			c.mu.Unlock()
			select {
			case c.changed <- struct{}{}:
			default:
			}
		}
		return reply(ctx, nil, nil)
	})
	t.Cleanup(func() {
		c.call(protocol.MethodShutdown, nil, nil)
		_ = c.conn.Notify(context.Background(), protocol.MethodExit, nil)
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the server did not stop after exit")
		}
		cancel()
		c.conn.Close()
	})
	var res protocol.InitializeResult
	c.call(protocol.MethodInitialize, map[string]any{"processId": 1, "rootUri": uri.File(c.dir), "capabilities": map[string]any{}, "initializationOptions": settings}, &res)
	if res.ServerInfo == nil || res.ServerInfo.Name != "stagefront" {
		t.Fatalf("initialize: %+v", res)
	}
	_ = c.conn.Notify(ctx, protocol.MethodInitialized, map[string]any{})
	return c
}

func (c *client) call(method string, params, result any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.conn.Call(ctx, method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// write writes files of the workspace: relative path -> content.
func (c *client) write(files map[string]string) {
	c.t.Helper()
	for name, content := range files {
		p := filepath.Join(c.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *client) path(name string) string {
	if strings.Contains(name, ":") {
		return name // a URI that is no file
	}
	return filepath.Join(c.dir, name)
}

func (c *client) uri(name string) protocol.DocumentURI { return uri.File(c.path(name)) }

// open opens the workspace file name with text (its content on disk
// when text is "").
func (c *client) open(name, text string) {
	c.t.Helper()
	if text == "" {
		dt, err := os.ReadFile(c.path(name))
		if err != nil {
			c.t.Fatal(err)
		}
		text = string(dt)
	}
	c.mu.Lock()
	c.version[name] = 1
	c.mu.Unlock()
	c.notify(protocol.MethodTextDocumentDidOpen, protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: c.uri(name), LanguageID: "dockerfile", Version: 1, Text: text}})
}

// edit replaces the text of the open document name.
func (c *client) edit(name, text string) {
	c.t.Helper()
	c.mu.Lock()
	c.version[name]++
	v := c.version[name]
	c.mu.Unlock()
	c.notify(protocol.MethodTextDocumentDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: c.uri(name)}, Version: v},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{{Text: text}},
	})
}

// diagnostics waits until the diagnostics of name satisfy ok (they are
// of its current version), and returns them.
func (c *client) diagnostics(name string, ok func([]protocol.Diagnostic) bool) []protocol.Diagnostic {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		p, have := c.diags[c.path(name)]
		v := c.version[name]
		c.mu.Unlock()
		if have && (v == 0 || int32(p.Version) == v) && ok(p.Diagnostics) {
			return p.Diagnostics
		}
		select {
		case <-c.changed:
		case <-deadline:
			c.t.Fatalf("the diagnostics of %s (version %d) never came as expected; the last: %s", name, v, render(p.Diagnostics))
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// render shows diagnostics one a line: line:col-line:col severity [tags] message.
func render(ds []protocol.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("\n  ")
		b.WriteString(diagString(d))
	}
	return b.String()
}

func diagString(d protocol.Diagnostic) string {
	sev := map[protocol.DiagnosticSeverity]string{1: "error", 2: "warning", 3: "info", 4: "hint"}[d.Severity]
	s := jsonString(d.Range.Start.Line+1) + ":" + jsonString(d.Range.Start.Character) + "-" + jsonString(d.Range.End.Line+1) + ":" + jsonString(d.Range.End.Character) + " " + sev
	if d.Code != nil {
		s += " " + jsonString(d.Code)
	}
	for _, tag := range d.Tags {
		if tag == protocol.DiagnosticTagUnnecessary {
			s += " unnecessary"
		}
	}
	return s + " " + d.Message
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// has reports whether some diagnostic's rendering contains every part.
func has(ds []protocol.Diagnostic, parts ...string) bool {
	for _, d := range ds {
		s := diagString(d)
		all := true
		for _, p := range parts {
			if !strings.Contains(s, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}
