package rewrite

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// FuzzRewrite runs parse, evaluate and rewrite on any input: it must never
// panic, must keep the line count, must leave a file without extensions
// byte-identical, and must leave no extension in what it returns.
func FuzzRewrite(f *testing.F) {
	f.Add([]byte("ARG X=1\nFROM scratch\nIF X\nCOPY a /\nELSE IF X == 'y'\nCOPY b /\nELSE\nCOPY c /\nEND\n"), "X=0", true)
	f.Add([]byte("FROM --if=\"TARGETARCH == 'arm64'\" busybox AS a\nRUN --if=A \\\n  echo\nREQUIRE a\n"), "", false)
	f.Add([]byte("# escape=`\r\nFROM scratch\r\nCOPY --if=true `\r\n  a /\r\n"), "", true)
	f.Add([]byte("FROM busybox\nRUN <<EOF\nIF x\nEND\nEOF\n"), "", false)
	f.Fuzz(func(t *testing.T, dt []byte, arg string, arm bool) {
		opt := Options{BuildArgs: map[string]string{}, Context: fakeContext{"a": true}}
		if k, v, ok := strings.Cut(arg, "="); ok {
			opt.BuildArgs[k] = v
		}
		if arm {
			opt.TargetPlatform = platforms.MustParse("linux/arm64")
		}
		res, err := Rewrite(context.Background(), dt, opt)
		if res == nil {
			return
		}
		if got, want := bytes.Count(res.Dockerfile, []byte("\n")), bytes.Count(dt, []byte("\n")); got != want {
			t.Fatalf("line count %d, want %d", got, want)
		}
		if !res.Extended && !bytes.Equal(res.Dockerfile, dt) {
			t.Fatalf("a file without extensions changed")
		}
		if err != nil || !res.Extended {
			return
		}
		out, perr := parser.Parse(bytes.NewReader(res.Dockerfile))
		if perr != nil {
			if strings.Contains(perr.Error(), "no instructions") {
				return
			}
			t.Fatalf("the rewrite does not parse: %v\n%s", perr, res.Dockerfile)
		}
		for _, n := range out.AST.Children {
			switch strings.ToLower(n.Value) {
			case "if", "else", "end", "require":
				t.Fatalf("line %d: %s left in the rewrite\n%s", n.StartLine, n.Value, res.Dockerfile)
			}
			for _, fl := range n.Flags {
				if fl == "--if" || strings.HasPrefix(fl, "--if=") {
					t.Fatalf("line %d: %s left in the rewrite\n%s", n.StartLine, fl, res.Dockerfile)
				}
			}
		}
	})
}
