package rewrite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// DirContext is a build context on the local disk, for the CLI: exists()
// looks at root, honouring root/.dockerignore.
type DirContext struct {
	root    string
	matcher *patternmatcher.PatternMatcher
}

// NewDirContext reads root's .dockerignore (if any) and returns its
// context.
func NewDirContext(root string) (*DirContext, error) {
	d := &DirContext{root: root}
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err == nil {
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, err
		}
		if d.matcher, err = patternmatcher.New(patterns); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return d, nil
}

// Exists implements Context. pattern is a clean relative path or glob.
func (d *DirContext) Exists(_ context.Context, pattern string) (bool, error) {
	pattern = path.Clean(pattern)
	var matches []string
	if strings.ContainsAny(pattern, "*?[") {
		var err error
		if matches, err = filepath.Glob(filepath.Join(d.root, filepath.FromSlash(pattern))); err != nil {
			return false, err
		}
	} else {
		matches = []string{filepath.Join(d.root, filepath.FromSlash(pattern))}
	}
	for _, m := range matches {
		if _, err := os.Lstat(m); err != nil {
			continue
		}
		rel, err := filepath.Rel(d.root, m)
		if err != nil {
			return false, err
		}
		if d.matcher != nil {
			excluded, err := d.matcher.MatchesOrParentMatches(filepath.ToSlash(rel))
			if err != nil {
				return false, err
			}
			if excluded {
				continue
			}
		}
		return true, nil
	}
	return false, nil
}
