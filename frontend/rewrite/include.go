package rewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/frontend/analysis"
	"github.com/org/stagefront/frontend/syntax"
	"github.com/org/stagefront/internal/didyoumean"
)

// The limits of INCLUDE.
const (
	// MaxIncludeDepth is how deep fragments may INCLUDE fragments.
	MaxIncludeDepth = 16
	// MaxIncludes is how many INCLUDEs one build may expand.
	MaxIncludes = 256
	// MaxExpandedSize is the largest expanded file, the Dockerfile and
	// its fragments together: BuildKit's limit of one Dockerfile.
	MaxExpandedSize = 16 << 20
)

// Fragments reads the files INCLUDE names.
type Fragments interface {
	// Read returns the file at p in the named context from ("" is the
	// directory of the Dockerfile). p is slash-separated, clean and
	// relative to the root of that context, never above it; a path that
	// leads out of the root through a symlink is an error. An error for
	// a file that does not exist wraps fs.ErrNotExist.
	Read(ctx context.Context, from, p string) ([]byte, error)
}

// FragmentLister is a Fragments that can list the files of a directory
// (dir as Read's p, "." for the root), for the did-you-mean of a fragment
// that does not exist.
type FragmentLister interface {
	List(ctx context.Context, from, dir string) ([]string, error)
}

// FragmentPlacer is a Fragments that says, for messages, where it reads
// the fragments of a named context (from "": the Dockerfile's own), as in
// "beside the Dockerfile" (the default), "in context NAME", or "in the
// build context's root" for a Dockerfile read from standard input.
type FragmentPlacer interface {
	Place(from string) string
}

// PlaceStdin is where the fragments of a Dockerfile read from standard
// input are read, for FragmentPlacer: the root of its build context.
const PlaceStdin = "in the build context's root (the Dockerfile came from standard input)"

// FragmentNoter is a Fragments that may have read a fragment from where
// its reader would not look for it: Note says so, for the fragment it
// returned for (from, p), or is "". Each INCLUDE that takes a noted
// fragment has the note in Result.Notes.
type FragmentNoter interface {
	Note(from, p string) string
}

// Note is something to tell at an INCLUDE of the expanded file.
type Note struct {
	Item    *syntax.Item
	Message string
}

// Include is a live INCLUDE of an evaluation and the fragment it takes.
type Include struct {
	Item *syntax.Item
	// From is the named context, "" for the Dockerfile's directory; Path
	// the path as written, its variables expanded.
	From, Path string
}

// include records a live INCLUDE, its path expanded with the ARGs that
// have a value here, as a stage name of COPY --from=$X is.
func (e *evaluation) include(it *syntax.Item) {
	written := it.IncludePath()
	if written == "" {
		return // reported by package syntax
	}
	if literal(written, rune(e.p.Syntax.Escape)) {
		// Nothing for the shell lexer to expand (checked as for ARG
		// defaults).
		e.includes = append(e.includes, Include{Item: it, From: it.IncludeFrom(), Path: written})
		return
	}
	res, err := e.lex.ProcessWordWithMatches(written, e.argEnv())
	switch {
	case err != nil:
		e.errorf(it.Line, "INCLUDE %s: %v", written, err)
	case len(res.Unmatched) > 0:
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range res.Unmatched {
				if !yield(n) {
					return
				}
			}
		})
		e.errorf(it.Line, "INCLUDE %s: %s has no value here: declare ARG %s with a default above this line, or pass --build-arg %s=...", written, names[0], names[0], names[0])
	case res.Result == "":
		e.errorf(it.Line, "INCLUDE %s: the path is empty for these build args", written)
	default:
		e.includes = append(e.includes, Include{Item: it, From: it.IncludeFrom(), Path: res.Result})
	}
}

// Source is one file of an expanded Dockerfile.
type Source struct {
	// Name is the file as messages name it: the Dockerfile's name, or a
	// fragment's path beside it (with its named context, as in
	// fragments:go/builder.Dockerfile).
	Name string
	// From and Path are where a fragment was read (see Fragments.Read);
	// both "" for the Dockerfile.
	From, Path string
	Data       []byte

	note string // see FragmentNoter
}

// Sources are the files a rewritten Dockerfile is made of: the Dockerfile
// and, in the order they are first included, the fragments it INCLUDEs.
type Sources struct {
	Files []Source
	// Data is the expanded file as written: each fragment's lines after
	// its INCLUDE (the Dockerfile of the rewrite, before the rewrite).
	Data []byte
	// origin is the source of each line of the expanded file (0-based).
	origin []lineOrigin
	nodes  []expansionNode
}

type lineOrigin struct {
	node int32 // into nodes
	line int32 // 1-based, in the node's file
}

// expansionNode is one inclusion of a file: the Dockerfile, or a fragment
// at one INCLUDE of its includer's inclusion.
type expansionNode struct {
	// key names the inclusion the same in every pass: "" for the
	// Dockerfile, else the key of its includer and the line of the
	// INCLUDE, as in "12/3".
	key    string
	file   int
	parent int // -1 for the Dockerfile
	at     int // the INCLUDE's line in the parent's file
}

// Position returns the file (an index into Files) and line of line n
// (1-based) of the expanded file.
func (s *Sources) Position(n int) (file, line int) {
	if n < 1 || n > len(s.origin) {
		return 0, n
	}
	o := s.origin[n-1]
	return s.nodes[o.node].file, int(o.line)
}

// Where is Position with the file's name, for messages.
func (s *Sources) Where(n int) (string, int) {
	f, l := s.Position(n)
	return s.Files[f].Name, l
}

// Via returns, for line n of the expanded file from a fragment, the line
// of the INCLUDE in the Dockerfile that brings the fragment in (through
// other fragments when it is nested); 0 for a line of the Dockerfile.
func (s *Sources) Via(n int) int {
	if n < 1 || n > len(s.origin) {
		return 0
	}
	node := s.nodes[s.origin[n-1].node]
	if node.parent < 0 {
		return 0
	}
	for s.nodes[node.parent].parent >= 0 {
		node = s.nodes[node.parent]
	}
	return node.at
}

// plannedInclude is an INCLUDE expanded in the next pass.
type plannedInclude struct {
	from, path string // as read (path from the context's root)
	file       int    // into Sources.Files
	end        int    // the INCLUDE's last line, in its file
}

// expansion is the state of Expand.
type expansion struct {
	frags Fragments
	files []Source
	// byPlace finds a file already read.
	byPlace map[[2]string]int
	// plan holds the INCLUDEs to expand, by the key of the inclusion they
	// make (see expansionNode.key).
	plan map[string]plannedInclude
}

// Expand rewrites the Dockerfile dt (named name) and the fragments its
// live INCLUDEs take, read with frags, as one standard Dockerfile: each
// fragment's lines follow its INCLUDE, whose lines become comments, and
// Result.Sources maps every line back to its own file. Only the INCLUDEs
// these values make live are read. Errors are at their own file and line.
//
// An INCLUDE is decided by what is above it, fragments included; the
// expanded file is analysed and evaluated until every live INCLUDE of it
// has its fragment and no other has one (each pass settles at least the
// first INCLUDE that was not, so passes are bounded by the INCLUDEs).
func Expand(ctx context.Context, name string, dt []byte, opt Options, frags Fragments) (*Result, error) {
	f, err := analysis.Analyze(ctx, name, dt, analysis.Options{})
	if f == nil {
		return nil, err
	}
	return ExpandFile(ctx, f, opt, frags)
}

// ExpandFile is Expand for a Dockerfile already analysed on its own, as
// a build analyses it once for all its platforms: its first pass reads
// main instead of analysing the Dockerfile again.
func ExpandFile(ctx context.Context, main *analysis.File, opt Options, frags Fragments) (*Result, error) {
	name, dt := main.Syntax.Name, main.Syntax.Data()
	if opt.Filename == "" {
		opt.Filename = name
	}
	x := &expansion{frags: frags, files: []Source{{Name: name, Data: dt}}, byPlace: map[[2]string]int{}, plan: map[string]plannedInclude{}}
	for pass := 0; ; pass++ {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		// The expanded file of the plan; the Dockerfile's own analysis
		// while the plan is empty.
		var srcs *spliced
		f := main
		if len(x.plan) > 0 {
			srcs = x.splice()
			var err error
			if f, err = analysis.Analyze(ctx, name, srcs.Data, analysis.Options{Origin: srcs.Where}); f == nil {
				return nil, srcs.relocate(err)
			}
		}
		if !f.Syntax.Includes {
			return Evaluate(ctx, f, opt) // a Dockerfile without INCLUDE
		}
		if srcs == nil {
			srcs = x.splice()
		}
		res, err := Evaluate(ctx, f, opt)
		if res == nil {
			return nil, srcs.relocate(err)
		}
		var errs syntax.ErrorList
		if el, ok := err.(*syntax.ErrorList); ok {
			errs.Merge(el)
		} else if err != nil {
			return nil, err
		}
		changed := x.settle(ctx, &srcs.Sources, res, f, &errs)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if changed && pass >= 2*MaxIncludes {
			// Each pass settles at least one more INCLUDE: not reached.
			errs.Add(name, 1, 0, "the INCLUDEs of this file did not settle after %d passes: report it as a bug", pass+1)
			changed = false
		}
		if !changed {
			if len(x.plan) > 0 || len(x.files) > 1 {
				res.Sources = &srcs.Sources
				x.checkBoundaries(f, &srcs.Sources, &errs)
				res.Notes = x.notes(&srcs.Sources, res)
			}
			return res, srcs.relocate(errs.Err())
		}
	}
}

// notes are the notes of the fragments the live INCLUDEs of res take.
func (x *expansion) notes(srcs *Sources, res *Result) []Note {
	var notes []Note
	for _, inc := range res.Includes {
		if p, ok := x.plan[srcs.key(inc.Item)]; ok && x.files[p.file].note != "" {
			notes = append(notes, Note{Item: inc.Item, Message: x.files[p.file].note})
		}
	}
	return notes
}

// spliced is an expanded file and its sources.
type spliced struct {
	Sources
}

// relocate gives the errors of the expanded file their own files and
// lines.
func (s *spliced) relocate(err error) error {
	el, ok := err.(*syntax.ErrorList)
	if !ok || s == nil || len(s.nodes) == 0 {
		return err
	}
	return el.Relocate(func(n int) (string, int, int) {
		file, line := s.Where(n)
		return file, line, s.Via(n)
	})
}

// splice writes the expanded file of the plan.
func (x *expansion) splice() *spliced {
	s := &spliced{Sources: Sources{Files: x.files}}
	// The expanded file's size and lines, to allocate them once.
	size, lines := len(x.files[0].Data)+1, bytes.Count(x.files[0].Data, []byte{'\n'})+1
	for _, p := range x.plan {
		dt := x.files[p.file].Data
		size += len(dt) + 1
		lines += bytes.Count(dt, []byte{'\n'}) + 1
	}
	s.Data = make([]byte, 0, size)
	s.origin = make([]lineOrigin, 0, lines)
	// The planned INCLUDEs of each inclusion, by the line they follow.
	after := map[string]map[int]string{}
	for key, p := range x.plan {
		parent, _ := splitKey(key)
		if after[parent] == nil {
			after[parent] = map[int]string{}
		}
		after[parent][p.end] = key
	}
	var emit func(key string, file, parent, at int)
	emit = func(key string, file, parent, at int) {
		node := int32(len(s.nodes))
		s.nodes = append(s.nodes, expansionNode{key: key, file: file, parent: parent, at: at})
		data := x.files[file].Data
		for line := 1; len(data) > 0; line++ {
			i := bytes.IndexByte(data, '\n')
			var l []byte
			if i < 0 {
				l, data = data, nil
			} else {
				l, data = data[:i+1], data[i+1:]
			}
			s.Data = append(s.Data, l...)
			if i < 0 {
				s.Data = append(s.Data, '\n') // the next file starts on a line of its own
			}
			s.origin = append(s.origin, lineOrigin{node: node, line: int32(line)})
			if k, ok := after[key][line]; ok {
				emit(k, x.plan[k].file, int(node), line)
			}
		}
	}
	emit("", 0, -1, 0)
	return s
}

// key names the inclusion an INCLUDE item of the expanded file makes
// (see expansionNode.key).
func (s *Sources) key(it *syntax.Item) string {
	o := s.origin[it.Line-1]
	key := strconv.Itoa(int(o.line))
	if k := s.nodes[o.node].key; k != "" {
		key = k + "/" + key
	}
	return key
}

// splitKey splits an inclusion's key into its includer's and the line of
// the INCLUDE.
func splitKey(key string) (parent string, line int) {
	i := strings.LastIndexByte(key, '/')
	line, _ = strconv.Atoi(key[i+1:])
	if i < 0 {
		return "", line
	}
	return key[:i], line
}

// settle compares the plan with the live INCLUDEs of res, in file order,
// and plans what differs: the fragments to read, those to drop. It
// reports whether the plan changed; problems of an INCLUDE are errors at
// its line (of the expanded file).
func (x *expansion) settle(ctx context.Context, srcs *Sources, res *Result, f *analysis.File, errs *syntax.ErrorList) bool {
	want := map[string]bool{}
	changed := false
	for _, inc := range res.Includes {
		it := inc.Item
		o := srcs.origin[it.Line-1]
		node := srcs.nodes[o.node]
		key := srcs.key(it)
		from, p, err := x.place(srcs, node, inc)
		if err != nil {
			errs.Add(f.Syntax.Name, it.Line, 0, "%v", err)
			continue
		}
		want[key] = true
		if old, ok := x.plan[key]; ok && old.from == from && old.path == p {
			continue
		}
		if err := x.checkChain(srcs, node, int(o.line), from, p); err != nil {
			errs.Add(f.Syntax.Name, it.Line, 0, "%v", err)
			continue
		}
		file, err := x.read(ctx, from, p)
		if err != nil {
			errs.Add(f.Syntax.Name, it.Line, 0, "INCLUDE %s: %v", it.IncludePath(), err)
			continue
		}
		end := int(srcs.origin[it.EndLine-1].line)
		x.plan[key] = plannedInclude{from: from, path: p, file: file, end: end}
		changed = true
	}
	// Planned INCLUDEs that are off now, or no longer in the file.
	for key := range x.plan {
		if !want[key] {
			delete(x.plan, key)
			changed = true
		}
	}
	// The limits, at the first INCLUDE past them: the expanded file holds
	// each fragment as many times as it is included.
	count, size := 0, len(x.files[0].Data)
	for _, inc := range res.Includes {
		p, ok := x.plan[srcs.key(inc.Item)]
		if !ok {
			continue
		}
		count++
		size += len(x.files[p.file].Data)
		switch {
		case count > MaxIncludes:
			errs.Add(f.Syntax.Name, inc.Item.Line, 0, "INCLUDE %s: this is INCLUDE %d of this build; the limit is %d", inc.Item.IncludePath(), count, MaxIncludes)
		case size > MaxExpandedSize:
			errs.Add(f.Syntax.Name, inc.Item.Line, 0, "INCLUDE %s: with it, the Dockerfile and its fragments take %d bytes; the limit is %d", inc.Item.IncludePath(), size, MaxExpandedSize)
		default:
			continue
		}
		return false
	}
	return changed
}

// place resolves the path of a live INCLUDE: relative to the directory of
// the file it is in (in that file's context), or to the root of the named
// context of --from=. It never leaves the root.
func (x *expansion) place(srcs *Sources, node expansionNode, inc Include) (from, p string, err error) {
	including := srcs.Files[node.file]
	from, dir := including.From, path.Dir(including.Path)
	if including.Path == "" {
		dir = "."
	}
	if inc.From != "" {
		from, dir = inc.From, "."
	}
	if strings.HasPrefix(inc.Path, "/") {
		return "", "", fmt.Errorf("INCLUDE %s: the path is absolute; write it relative to the directory of this file", inc.Path)
	}
	p = path.Join(dir, inc.Path)
	if p == ".." || strings.HasPrefix(p, "../") {
		where := "the Dockerfile's directory"
		if from != "" {
			where = "the root of context " + from
		}
		return "", "", fmt.Errorf("INCLUDE %s: the path leaves %s; a fragment must be inside it", inc.Path, where)
	}
	if p == "." {
		return "", "", fmt.Errorf("INCLUDE %s: the path is a directory; name a file", inc.Path)
	}
	return from, p, nil
}

// checkChain reports an INCLUDE (at line of node's file) nested too
// deep, or of a file that is already including it.
func (x *expansion) checkChain(srcs *Sources, node expansionNode, line int, from, p string) error {
	// The inclusions from the Dockerfile down to node.
	var chain []expansionNode
	for n := node; ; n = srcs.nodes[n.parent] {
		chain = append(chain, n)
		if n.parent < 0 {
			break
		}
	}
	slices.Reverse(chain)
	for i, n := range chain {
		file := srcs.Files[n.file]
		if file.From != from || placeOf(file) != p {
			continue
		}
		var steps []string
		for j := i; j < len(chain); j++ {
			at := line
			if j+1 < len(chain) {
				at = chain[j+1].at
			}
			steps = append(steps, fmt.Sprintf("%s:%d", srcs.Files[chain[j].file].Name, at))
		}
		return fmt.Errorf("INCLUDE cycle: %s -> %s: a file cannot include itself, directly or through other fragments", strings.Join(steps, " -> "), file.Name)
	}
	if len(chain) >= MaxIncludeDepth+1 {
		return fmt.Errorf("INCLUDEs nest %d deep here; the limit is %d: include the fragments from fewer levels", len(chain), MaxIncludeDepth)
	}
	return nil
}

// placeOf is the path of a file within its context: the Dockerfile's is
// its name's last element.
func placeOf(f Source) string {
	if f.Path == "" {
		return path.Base(f.Name)
	}
	return f.Path
}

// read returns the index of the file at (from, p) in x.files, reading it
// on first use and checking it can be a fragment.
func (x *expansion) read(ctx context.Context, from, p string) (int, error) {
	if i, ok := x.byPlace[[2]string{from, p}]; ok {
		return i, nil
	}
	if x.frags == nil {
		return 0, errors.New("this build reads no fragments (a Dockerfile from standard input has no directory to include from)")
	}
	dt, err := x.frags.Read(ctx, from, p)
	if errors.Is(err, fs.ErrNotExist) {
		where := "beside the Dockerfile"
		if from != "" {
			where = "in context " + from
		}
		if pl, ok := x.frags.(FragmentPlacer); ok {
			where = pl.Place(from)
		}
		msg := fmt.Sprintf("no file %s %s", p, where)
		if l, ok := x.frags.(FragmentLister); ok {
			if names, err := l.List(ctx, from, path.Dir(p)); err == nil {
				if c := didyoumean.Closest(path.Base(p), names, true); c != "" {
					msg += fmt.Sprintf("; did you mean %s?", path.Join(path.Dir(p), c))
				}
			}
		}
		return 0, errors.New(msg)
	}
	if err != nil {
		return 0, err
	}
	if len(dt) > MaxExpandedSize {
		return 0, fmt.Errorf("%s is %d bytes; the limit of the Dockerfile and its fragments together is %d", p, len(dt), MaxExpandedSize)
	}
	name := p
	if from != "" {
		name = from + ":" + p
	} else if dir := path.Dir(x.files[0].Name); dir != "." {
		name = path.Join(dir, p)
	}
	for _, key := range []string{"syntax", "check", "escape"} {
		if !mayHaveDirectives(dt) {
			break
		}
		v, _, loc, ok := parser.ParseDirective(key, dt)
		if !ok {
			continue
		}
		line := 1
		if len(loc) > 0 {
			line = max(loc[0].Start.Line, 1) // 1-based
		}
		if key != "escape" {
			return 0, fmt.Errorf("%s:%d: a fragment takes no # %s= directive (the Dockerfile's apply to its fragments): remove it", name, line, key)
		}
		if main := escapeOf(x.files[0].Data); v != string(rune(main)) {
			return 0, fmt.Errorf("%s:%d: the fragment's # escape=%s differs from the Dockerfile's escape character %q: a fragment is read with the Dockerfile's", name, line, v, main)
		}
	}
	src := Source{Name: name, From: from, Path: p, Data: dt}
	if n, ok := x.frags.(FragmentNoter); ok {
		src.note = n.Note(from, p)
	}
	x.files = append(x.files, src)
	x.byPlace[[2]string{from, p}] = len(x.files) - 1
	return len(x.files) - 1, nil
}

// mayHaveDirectives reports whether dt starts (after a byte order mark,
// blank space and a #! line) with a comment, where parser directives are:
// false means it has none.
func mayHaveDirectives(dt []byte) bool {
	dt = bytes.TrimPrefix(dt, []byte("\xEF\xBB\xBF"))
	if bytes.HasPrefix(dt, []byte("#!")) {
		return true // BuildKit skips a shebang line: let it read the rest
	}
	return bytes.HasPrefix(bytes.TrimLeft(dt, " \t\r\n"), []byte("#"))
}

// escapeOf is the escape token of a Dockerfile.
func escapeOf(dt []byte) byte {
	if v, _, _, ok := parser.ParseDirective("escape", dt); ok && len(v) == 1 {
		return v[0]
	}
	return '\\'
}

// checkBoundaries reports instructions that start in one file and go on
// in the next: a fragment whose last line is continued.
func (x *expansion) checkBoundaries(f *analysis.File, srcs *Sources, errs *syntax.ErrorList) {
	for _, it := range f.Syntax.Items {
		if it.EndLine > len(srcs.origin) {
			continue
		}
		if srcs.origin[it.Line-1].node != srcs.origin[it.EndLine-1].node {
			errs.Add(f.Syntax.Name, it.Line, 0, "this instruction goes on past the end of its file (its last line ends with the escape character): end it in its own file")
		}
	}
}
