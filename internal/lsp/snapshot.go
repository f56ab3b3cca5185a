package lsp

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"

	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/org/stagefront/internal/offline"
)

// snapshot is what the pipeline found in one version of a Dockerfile,
// for the settings it was analysed with: every answer of the server
// about the file reads one.
type snapshot struct {
	path    string // the Dockerfile's path on disk
	version int32
	text    *text
	// own is the analysis of the file alone (nil when BuildKit's parser
	// rejects it): its items, stages and blocks, at its own lines.
	own *analysis.File
	// rw is the rewrite for the settings, its fragments included: nil
	// when it failed, and with errs when it found errors in the file.
	rw   *rewrite.Result
	errs []*syntax.Error
	// omitted counts the errors past the first syntax.MaxErrors.
	omitted int
	// lint holds the build checks' findings (nil when the rewrite failed).
	lint *sublint.LintResults
	fail error
	// other is an error that is no error of the file (the build context
	// cannot be read), shown at line 1.
	other error
	// files are the paths on disk of the files of rw, by name (as
	// rewrite.Source.Name and the errors name them).
	files map[string]string
	// lineOf maps a line of the file (1-based) to its line in the
	// expanded file of rw (rw.Analysis), 0 when it has none.
	lineOf []int
	// fragDirs are the directories INCLUDE reads: "" the Dockerfile's,
	// then the named contexts.
	fragDirs map[string]string
	// lastExpanded is the analysis of the last rewrite that succeeded,
	// this one's or an earlier version's (nil: none yet).
	lastExpanded *analysis.File
}

// buildInput is what analysing a document needs.
type buildInput struct {
	path     string
	version  int32
	data     []byte
	settings Settings
	root     string // the workspace's root ("" none)
	// overlay returns the text of an open document by path.
	overlay func(path string) ([]byte, bool)
	// expanded is the analysis of the document's last rewrite that
	// succeeded (nil: none yet).
	expanded *analysis.File
}

// analyze runs the pipeline on one version of a Dockerfile: the
// analysis of the file alone, the rewrite with its fragments, the checks.
func analyze(ctx context.Context, in buildInput) *snapshot {
	s := &snapshot{path: in.path, version: in.version, text: newText(in.data), lastExpanded: in.expanded}
	name := filepath.Base(in.path)
	s.own, _ = analysis.Analyze(ctx, name, in.data, analysis.Options{})

	// A buffer that is no file (an untitled one) has no directory: it
	// includes nothing and its exists() reads no context, unless the
	// settings name them.
	dockerfileDir := ""
	if filepath.IsAbs(in.path) {
		dockerfileDir = filepath.Dir(in.path)
	}
	s.fragDirs = map[string]string{}
	if dockerfileDir != "" {
		s.fragDirs[""] = dockerfileDir
	}
	for n, d := range in.settings.Contexts {
		s.fragDirs[n] = dir(in.root, d)
	}
	contextDir := dockerfileDir
	if in.settings.Context != "" {
		contextDir = dir(in.root, in.settings.Context)
	}
	opt := rewrite.Options{
		Filename:      name,
		BuildArgs:     in.settings.BuildArgs,
		Target:        in.settings.Target,
		BuildPlatform: in.settings.platform(),
		ListFlags:     true,
	}
	if opt.BuildArgs == nil {
		opt.BuildArgs = map[string]string{}
	}
	opt.TargetPlatform = opt.BuildPlatform
	if in.settings.Platform != "" {
		opt.TargetPlatform = in.settings.platform()
	}
	var ctxDir *contextfs.Dir
	var err error
	if contextDir != "" {
		ctxDir, err = contextfs.NewDir(contextDir)
	}
	if err != nil {
		s.other = fmt.Errorf("the build context %s cannot be read (set \"context\" in the stagefront settings): %w", contextDir, err)
	} else if ctxDir != nil {
		defer ctxDir.Close()
		opt.Context = contextfs.NewContext(ctxDir)
	}
	frags := &overlayFragments{DirFragments: contextfs.DirFragments{Dirs: s.fragDirs, MaxSize: rewrite.MaxExpandedSize}, overlay: in.overlay}
	input := &offline.Input{Filename: name, Data: in.data, Options: opt, ContextDir: contextDir, Fragments: frags}
	if ctxDir == nil {
		input.ContextDir = ""
	}

	var rw *rewrite.Result
	var rwErr error
	if s.own != nil {
		// The file's own analysis is the rewrite's first pass.
		rw, rwErr = rewrite.ExpandFile(ctx, s.own, opt, frags)
	} else {
		rw, rwErr = input.Rewrite(ctx, opt)
	}
	var el *syntax.ErrorList
	if errors.As(rwErr, &el) {
		// The errors; and what the rewrite decided despite them (the
		// lines it leaves out, the stages), so that an error while the
		// user types does not take the rest away. No checks: the build
		// would not get to them.
		s.errs, s.omitted = el.Errors(), el.Omitted()
		if rw != nil {
			s.rw = rw
			s.index(name)
			s.lastExpanded = rw.Analysis
		}
		return s
	}
	if rwErr != nil && ctx.Err() != nil {
		return nil
	}
	checked, err := offline.CheckRewrite(ctx, input, rw, rwErr)
	switch {
	case err != nil:
		s.other = err
	default:
		s.rw, s.lint, s.fail = checked.Rewrite, checked.Lint, checked.Fail
	}
	if s.rw != nil {
		s.index(name)
		s.lastExpanded = s.rw.Analysis
	}
	return s
}

// index maps the files and lines of the rewrite.
func (s *snapshot) index(name string) {
	s.files = map[string]string{name: s.path}
	s.lineOf = make([]int, s.text.lines()+1)
	srcs := s.rw.Sources
	if srcs == nil {
		for i := range s.lineOf {
			s.lineOf[i] = i
		}
		return
	}
	for _, f := range srcs.Files[1:] {
		if d, ok := s.fragDirs[f.From]; ok {
			s.files[f.Name] = filepath.Join(d, filepath.FromSlash(f.Path))
		}
	}
	for n := 1; n <= s.rw.Analysis.Syntax.NumLines(); n++ {
		if file, line := srcs.Position(n); file == 0 && line < len(s.lineOf) && s.lineOf[line] == 0 {
			s.lineOf[line] = n
		}
	}
}

// where returns the path and line of line n of the expanded file.
func (s *snapshot) where(n int) (string, int) {
	if s.rw.Sources == nil {
		return s.path, n
	}
	name, line := s.rw.Sources.Where(n)
	return s.files[name], line
}

// expanded returns the item of the rewrite at line n of the file (nil
// when there is none, or no rewrite).
func (s *snapshot) expanded(n int) *syntax.Item {
	if s.rw == nil || n < 1 || n >= len(s.lineOf) || s.lineOf[n] == 0 {
		return nil
	}
	return itemAt(s.rw.Analysis.Syntax, s.lineOf[n])
}

// itemAt returns the item that covers line n of f, nil when none.
func itemAt(f *syntax.File, n int) *syntax.Item {
	items := f.Items
	lo, hi := 0, len(items)
	for lo < hi {
		m := (lo + hi) / 2
		if items[m].EndLine < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(items) && items[lo].Line <= n && n <= items[lo].EndLine {
		return items[lo]
	}
	return nil
}

// overlayFragments reads fragments from disk, or from the editor's
// buffer of a file that is open.
type overlayFragments struct {
	contextfs.DirFragments
	overlay func(path string) ([]byte, bool)
}

func (o *overlayFragments) Read(ctx context.Context, from, p string) ([]byte, error) {
	d, ok := o.Dirs[from]
	if !ok && from == "" {
		return nil, errors.New("this buffer is no file: it has no directory to include from (save it, or use INCLUDE --from= a context of the settings)")
	}
	if !ok {
		return nil, fmt.Errorf("no build context %q: give its directory in the stagefront settings, \"contexts\": {%q: \"DIR\"}", from, from)
	}
	if o.overlay != nil {
		if dt, ok := o.overlay(filepath.Join(d, filepath.FromSlash(path.Clean(p)))); ok {
			return dt, nil
		}
	}
	return o.DirFragments.Read(ctx, from, p)
}
