package rewrite

import (
	"context"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/org/stagefront/internal/llbtest"
)

// labsChannel reports whether this test binary was built with upstream's
// labs tags (frontend/dockerfile/release/labs/tags, as hack/test builds
// the labs pass): its instruction parser then takes ENV --unset.
func labsChannel(t *testing.T) bool {
	t.Helper()
	res, err := parser.Parse(strings.NewReader("FROM scratch\nENV --unset A\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = instructions.Parse(res.AST, nil)
	return err == nil
}

// TestLabsInstructions: ENV --unset, LABEL --unset and FROM --reset (the
// labs channel's instructions) guarded with --if=, inside IF blocks, and
// read by the conditions after them, convert exactly as the standard file
// that is left: in a labs build they work, and an unset ARG is unset for
// the rest of the stage; in a mainline build, the converter rejects them
// with upstream mainline's own error.
func TestLabsInstructions(t *testing.T) {
	const extended = `# syntax=org/stagefront:labs
ARG KEEP=false
FROM busybox AS base
ENV A=1 B=2
LABEL x=1 y=2
FROM --reset=cmd,env base AS final
ARG SRC=base
IF !KEEP
ENV --unset A SRC
END
LABEL --if=!KEEP --unset x
RUN --if='defined(SRC)' echo still defined
RUN --if='!defined(SRC)' echo unset
RUN echo "A=$A B=$B"
`
	// What remains for KEEP=false: the file the build converts.
	const standard = `# syntax=org/stagefront:labs
ARG KEEP=false
FROM busybox AS base
ENV A=1 B=2
LABEL x=1 y=2
FROM --reset=cmd,env base AS final
ARG SRC=base
#
ENV --unset A SRC
#
LABEL --unset x
#
RUN echo unset
RUN echo "A=$A B=$B"
`
	labs := labsChannel(t)
	p := platforms.MustParse("linux/amd64")
	res, err := Rewrite(context.Background(), []byte(extended), Options{TargetPlatform: p, BuildPlatform: p})
	if !labs {
		// The analysis leaves what BuildKit's mainline parser rejects to
		// the converter; as written, !defined(SRC) cannot know the ENV
		// --unset is no instruction here, and reads SRC as declared.
		if err != nil {
			t.Fatalf("mainline rewrite: %v", err)
		}
		_, upErr := llbtest.Canonical(context.Background(), []byte(strings.Replace(standard, "#\nRUN echo unset", "RUN echo still defined\n#", 1)), llbtest.Options{Platform: &p})
		_, ourErr := llbtest.Canonical(context.Background(), res.Dockerfile, llbtest.Options{Platform: &p})
		if upErr == nil || ourErr == nil || upErr.Error() != ourErr.Error() {
			t.Fatalf("mainline: the rewrite converts with error %v, upstream's file with %v; want upstream's error", ourErr, upErr)
		}
		if !strings.Contains(ourErr.Error(), "unknown flag: --reset") {
			t.Errorf("mainline: %v, want upstream's unknown flag error", ourErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("labs rewrite: %v", err)
	}
	if got := string(res.Dockerfile); got != standard {
		t.Fatalf("labs rewrite:\n%s\nwant:\n%s", got, standard)
	}
	want, err := llbtest.Canonical(context.Background(), []byte(standard), llbtest.Options{Platform: &p})
	if err != nil {
		t.Fatalf("upstream labs converts the standard file with %v", err)
	}
	got, err := llbtest.Canonical(context.Background(), res.Dockerfile, llbtest.Options{Platform: &p})
	if err != nil || got != want {
		t.Errorf("the rewrite converts to other LLB than the standard file (err %v)", err)
	}
	// COPY --from=${SRC} after the unset: no ARG with a value names the
	// stage, so the flag is left to the converter, as upstream leaves it.
	copyAfter := strings.Replace(extended, "RUN echo \"A=$A B=$B\"", "COPY --from=${SRC} /x /x", 1)
	res, err = Rewrite(context.Background(), []byte(copyAfter), Options{TargetPlatform: p, BuildPlatform: p})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Dockerfile), "COPY --from=${SRC} /x /x") {
		t.Errorf("COPY --from=${SRC} after ENV --unset SRC was resolved:\n%s", res.Dockerfile)
	}
}
