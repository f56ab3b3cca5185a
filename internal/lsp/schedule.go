package lsp

import (
	"context"
	"maps"
	"time"
)

// When documents are analysed: each open Dockerfile after each change of
// any open document (a fragment's buffer changes the files that include
// it), debounced: the first change after a pause of the debounce is
// analysed at once, the changes of a burst once the burst pauses. A
// request analyses its document's current text when the last analysis is
// older.

// scheduleAll plans the analysis of every open Dockerfile (not the
// fragments an open Dockerfile includes).
func (s *server) scheduleAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, d := range s.docs {
		if _, ok := s.includedBy[p]; ok {
			s.cancelRun(d)
			continue
		}
		s.schedule(d)
	}
}

// schedule plans the analysis of d (s.mu held).
func (s *server) schedule(d *document) {
	if d.run != nil && d.run.timer != nil {
		return // planned: it reads the text when it starts
	}
	s.cancelRun(d)
	wait := s.settings.debounce() - time.Since(d.lastRun)
	if wait <= 0 {
		s.start(d)
		return
	}
	r := &run{}
	r.timer = time.AfterFunc(wait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if d.run == r && s.docs[d.path] == d {
			s.start(d)
		}
	})
	d.run = r
}

// cancelRun stops d's planned or running analysis (s.mu held).
func (s *server) cancelRun(d *document) {
	if d.run == nil {
		return
	}
	if d.run.timer != nil {
		d.run.timer.Stop()
	}
	if d.run.cancel != nil {
		d.run.cancel()
	}
	d.run = nil
}

// start analyses d's current text in the background and publishes the
// diagnostics (s.mu held).
func (s *server) start(d *document) {
	ctx, cancel := context.WithCancel(s.ctx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	d.run, d.lastRun = r, time.Now()
	in := s.inputOf(d)
	go func() {
		defer close(r.done)
		defer cancel()
		snap := analyze(ctx, in)
		if snap == nil || ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		if d.run == r {
			d.run = nil
		}
		s.mu.Unlock()
		s.deliver(d, snap)
	}()
}

// inputOf is what analysing d's current text needs (s.mu held).
func (s *server) inputOf(d *document) buildInput {
	return buildInput{path: d.path, version: d.version, data: d.data, settings: s.settings, root: s.root, overlay: s.overlay, expanded: d.expanded}
}

// overlay returns the text of the open document at path.
func (s *server) overlay(path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.docs[path]; ok {
		return d.data, true
	}
	return nil, false
}

// deliver keeps snap as d's analysis when it is newer than the one kept,
// and publishes its diagnostics when it is of d's current text.
func (s *server) deliver(d *document, snap *snapshot) {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	s.mu.Lock()
	if s.docs[d.path] != d || (d.snap != nil && d.snap.version > snap.version) {
		s.mu.Unlock()
		return
	}
	d.snap = snap
	if snap.rw != nil {
		d.expanded = snap.rw.Analysis
	}
	current := snap.version == d.version
	claimed := s.claim(d.path, snap)
	texts := map[string]*text{}
	versions := map[string]int32{d.path: snap.version}
	for p, o := range s.docs {
		if s.includedBy[p] == d.path {
			texts[p] = newText(o.data)
			versions[p] = o.version
		}
	}
	s.mu.Unlock()
	if claimed {
		s.scheduleAll()
	}
	if !current {
		return
	}
	diags := snap.diagnostics(func(p string) *text { return texts[p] })
	for p := range texts {
		if _, ok := diags[p]; !ok {
			diags[p] = nil // an open fragment without diagnostics: cleared
		}
	}
	s.mu.Lock()
	before := s.published[d.path]
	now := map[string]bool{}
	for p := range diags {
		now[p] = true
	}
	s.published[d.path] = now
	s.mu.Unlock()
	for p, ds := range diags {
		s.publish(p, ds, versions[p])
	}
	for p := range before {
		if !now[p] {
			s.publish(p, nil, versions[p])
		}
	}
}

// claim records the fragments of main's analysis snap as included by it
// (s.mu held); it reports whether an open document changed its role.
func (s *server) claim(main string, snap *snapshot) bool {
	old := map[string]bool{}
	for f, m := range s.includedBy {
		if m == main {
			old[f] = true
		}
	}
	claimed := maps.Clone(old)
	if snap.rw != nil {
		// The fragments of the rewrite, only.
		claimed = map[string]bool{}
		for _, p := range snap.files {
			claimed[p] = true
		}
	}
	for _, e := range snap.errs {
		claimed[snap.pathOf(e.File)] = true
	}
	delete(claimed, main)
	changed := false
	for f := range old {
		if !claimed[f] {
			delete(s.includedBy, f)
			changed = changed || s.docs[f] != nil
		}
	}
	for f := range claimed {
		if _, ok := s.includedBy[f]; !ok {
			s.includedBy[f] = main
			changed = changed || s.docs[f] != nil
		}
	}
	return changed
}

// current returns the analysis of the open document at path for its
// current text, analysing it now when the last one is older; nil when it
// is not open.
func (s *server) current(ctx context.Context, path string) *snapshot {
	s.mu.Lock()
	d, ok := s.docs[path]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	if d.snap != nil && d.snap.version == d.version {
		snap := d.snap
		s.mu.Unlock()
		return snap
	}
	_, fragment := s.includedBy[path]
	in := s.inputOf(d)
	s.mu.Unlock()
	snap := analyze(ctx, in)
	if snap != nil && !fragment {
		s.deliver(d, snap)
	}
	return snap
}
