package builder

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/didyoumean"
)

// "File not found in stage": when a COPY --from=<stage> source is missing,
// BuildKit fails computing the copy's cache key with
//
//	failed to calculate checksum of ref <id>: "/app/dist/mian.js": not found
//
// (solver/llbsolver/ops/opsutils/contenthash.go), as a SolveError whose
// subject is the ContentCache input and whose source is the COPY line.
// It names neither the stage nor what is there. explainCopyError finds
// the COPY --from= that asked for the path, solves that stage again (a
// cache hit: it has just been built), reads the directories along the
// path, and says which paths exist there.

// copiesFromStage reports whether the rewrite copies from a stage. Such a
// target is solved evaluated (as with REQUIRE gates): a lazy solve fails
// after the frontend has returned, where its error can no longer be
// explained. The result and the work are the same.
func copiesFromStage(rw *rewrite.Result) bool {
	if rw != nil && rw.Analysis == nil {
		// A plain file converted without analysis: any --from= may be
		// a stage's.
		return bytes.Contains(rw.Dockerfile, []byte("--from="))
	}
	return rw != nil && rw.CopiesFrom()
}

// notFoundPath matches the path of BuildKit's missing-source error.
var notFoundPath = regexp.MustCompile(`failed to calculate checksum of ref \S+: "([^"]+)": not found`)

// explainCopyError returns err with the stage, the path and the closest
// existing paths when err is a missing COPY --from=<stage> source of the
// rewrite rw for platform p; otherwise err unchanged.
func (cv *converter) explainCopyError(ctx context.Context, c solver, p *ocispecs.Platform, rw *rewrite.Result, err error) error {
	if err == nil || rw == nil {
		return err
	}
	m := notFoundPath.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	if rw.Analysis == nil {
		// A plain file converted without analysis: analysed now.
		full, rwErr := cv.rewrite(ctx, p)
		if rwErr != nil {
			return err
		}
		rw = full
	}
	missing := path.Clean("/" + m[1])
	stage, instr := copySourceStage(rw, missing, errorLines(err))
	if stage == "" {
		return err
	}
	ref, lerr := cv.solveStage(ctx, c, p, rw, stage)
	if lerr != nil || ref == nil {
		return &wrappedError{msg: fmt.Sprintf("%s: %s does not exist in stage %s", instr, missing, stage), err: err}
	}
	return &wrappedError{msg: fmt.Sprintf("%s: %s does not exist in stage %s%s", instr, missing, stage, describeNearest(ctx, ref, missing)), err: err}
}

// errorLines are the lines of the original file the error points at.
func errorLines(err error) []int {
	var lines []int
	for _, s := range errdefs.Sources(err) {
		for _, r := range s.Ranges {
			if r.Start != nil {
				lines = append(lines, int(r.Start.Line))
			}
		}
	}
	return lines
}

// copySourceStage finds the COPY --from=<stage> of the rewrite with
// source missing (the one at one of lines when there are several) and
// returns the stage's name and the instruction as written.
func copySourceStage(rw *rewrite.Result, missing string, lines []int) (stage, instr string) {
	stages, _, err := rw.Instructions()
	if err != nil {
		return "", ""
	}
	byIndex := func(from string) string {
		if i, err := strconv.Atoi(from); err == nil && i >= 0 && i < len(stages) {
			return stages[i].Name
		}
		for _, s := range stages {
			if s.Name == strings.ToLower(from) {
				return s.Name
			}
		}
		return ""
	}
	for _, st := range stages {
		for _, cmd := range st.Commands {
			cp, ok := cmd.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			name := byIndex(cp.From)
			if name == "" {
				continue // an image or a named context
			}
			hasSrc := slices.ContainsFunc(cp.SourcePaths, func(s string) bool { return path.Clean("/"+s) == missing })
			if !hasSrc {
				continue
			}
			loc := cp.Location()
			at := len(lines) == 0
			for _, l := range lines {
				if len(loc) > 0 && l >= loc[0].Start.Line && l <= loc[len(loc)-1].End.Line {
					at = true
				}
			}
			if at || stage == "" {
				stage, instr = name, "COPY --from="+cp.From
				if at {
					return stage, instr
				}
			}
		}
	}
	return stage, instr
}

// solveStage builds stage of the rewrite for platform p and returns its
// filesystem.
func (cv *converter) solveStage(ctx context.Context, c solver, p *ocispecs.Platform, rw *rewrite.Result, stage string) (client.Reference, error) {
	opt, files := cv.convertOpt(p, false, rw)
	opt.Target = stage
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
	if err != nil {
		return nil, files.locate(err)
	}
	def, err := cv.marshal(ctx, res.State, rw)
	if err != nil {
		return nil, err
	}
	r, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	return r.SingleRef()
}

// describeNearest says what exists along missing in ref: the closest
// name at the first element that is not there, and the directory's
// entries.
func describeNearest(ctx context.Context, ref client.Reference, missing string) string {
	elems := strings.Split(strings.TrimPrefix(missing, "/"), "/")
	dir := "/"
	for i, el := range elems {
		entries, err := ref.ReadDir(ctx, client.ReadDirRequest{Path: dir})
		if err != nil {
			return ""
		}
		var names []string
		isDir := map[string]bool{}
		found := false
		for _, e := range entries {
			n := path.Base(e.Path)
			names = append(names, n)
			isDir[n] = os.FileMode(e.Mode).IsDir()
			if n == el {
				found = true
			}
		}
		if found && i < len(elems)-1 && isDir[el] {
			dir = path.Join(dir, el)
			continue
		}
		if found && i == len(elems)-1 {
			return "" // it exists: not our error to explain
		}
		if found {
			return fmt.Sprintf(" (%s exists, but is not a directory)", path.Join(dir, el))
		}
		sort.Strings(names)
		var b strings.Builder
		if s := didyoumean.Closest(el, names, true); s != "" {
			rest := append([]string{dir, s}, elems[i+1:]...)
			fmt.Fprintf(&b, " (did you mean %s?", path.Join(rest...))
		} else {
			b.WriteString(" (")
		}
		switch {
		case len(names) == 0:
			fmt.Fprintf(&b, "%s%s is empty)", sepIf(b.Len() > 2), dir)
		default:
			shown := names
			if len(shown) > 10 {
				shown = shown[:10]
			}
			for j, n := range shown {
				if isDir[n] {
					shown[j] = n + "/"
				}
			}
			more := ""
			if len(names) > len(shown) {
				more = fmt.Sprintf(", and %d more", len(names)-len(shown))
			}
			fmt.Fprintf(&b, "%s%s holds %s%s)", sepIf(b.Len() > 2), dir, strings.Join(shown, ", "), more)
		}
		return b.String()
	}
	return ""
}

func sepIf(ok bool) string {
	if ok {
		return " "
	}
	return ""
}
