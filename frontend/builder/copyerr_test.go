package builder

import (
	"context"
	"errors"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/org/stagefront/frontend/rewrite"
	fstypes "github.com/tonistiigi/fsutil/types"
)

func TestCopySourceStage(t *testing.T) {
	dt := []byte("# syntax=org/stagefront\nARG OFF=false\nFROM busybox AS build\nRUN x\nFROM busybox AS other\nFROM --if=OFF busybox AS off\nFROM busybox\nCOPY --from=build /app/dist/main.js /x\nCOPY --from=0 app/y /y\nCOPY --from=golang:1 /app/dist/main.js /z\nCOPY --from=other /app/dist/main.js /w\nCOPY --if=OFF --from=off /app/dist/main.js /v\n")
	rw, err := rewrite.Rewrite(context.Background(), dt, rewrite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		missing string
		lines   []int
		stage   string
		instr   string
	}{
		{"/app/dist/main.js", []int{8}, "build", "COPY --from=build"},
		{"/app/dist/main.js", []int{11}, "other", "COPY --from=other"},
		{"/app/dist/main.js", nil, "build", "COPY --from=build"},
		{"/app/y", []int{9}, "build", "COPY --from=0"},
		{"/nope", []int{8}, "", ""},
		{"/app/dist/main.js", []int{12}, "build", "COPY --from=build"}, // the COPY there is off
	} {
		stage, instr := copySourceStage(rw, tc.missing, tc.lines)
		if stage != tc.stage || instr != tc.instr {
			t.Errorf("%s at %v: %q %q, want %q %q", tc.missing, tc.lines, stage, instr, tc.stage, tc.instr)
		}
	}
}

// dirRef is a filesystem of paths for ReadDir.
type dirRef struct {
	client.Reference
	files map[string]bool // path -> is a directory
}

func (f *dirRef) ReadDir(_ context.Context, req client.ReadDirRequest) ([]*fstypes.Stat, error) {
	if !f.files[req.Path] && req.Path != "/" {
		return nil, errors.New("not found")
	}
	var out []*fstypes.Stat
	for p, dir := range f.files {
		if path.Dir(p) == req.Path && p != "/" {
			st := &fstypes.Stat{Path: path.Base(p)}
			if dir {
				st.Mode = uint32(os.ModeDir | 0o755)
			}
			out = append(out, st)
		}
	}
	return out, nil
}

func TestDescribeNearest(t *testing.T) {
	ref := &dirRef{files: map[string]bool{"/app": true, "/app/dist": true, "/app/dist/main.js": false, "/app/dist/main.css": false, "/etc": true}}
	for missing, want := range map[string]string{
		"/app/dist/mian.js":  "(did you mean /app/dist/main.js? /app/dist holds main.css, main.js)",
		"/app/dsit/main.js":  "(did you mean /app/dist/main.js? /app holds dist/)",
		"/srv/x":             "(/ holds app/, etc/)",
		"/app/dist/main.js/": "",
	} {
		got := describeNearest(context.Background(), ref, path.Clean(missing))
		if strings.TrimSpace(got) != want {
			t.Errorf("%s: %q, want %q", missing, got, want)
		}
	}
}
