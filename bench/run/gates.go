package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/org/stagefront/internal/bkharness"
)

// gate_parallel_ratio: REQUIRE gates built beside the target.

// gateParallel builds a target whose two REQUIRE gates sleep (2 s, 3 s; the
// target's own step 2 s), and compares its wall time with the slowest of the
// three built alone. Every build gets fresh steps (a nonce), so none is
// cached.
func gateParallel() []measure {
	sleeps := map[string]string{"app": "2", "test": "2", "scan": "3"}
	if *smoke {
		sleeps = map[string]string{"app": "1", "test": "1", "scan": "1"}
	}
	dir := filepath.Join(tmp, "gates")
	df := fmt.Sprintf(`%s
ARG GATES=true

FROM busybox AS test
ARG NONCE
RUN echo "test $NONCE" && sleep %s

FROM busybox AS scan
ARG NONCE
RUN echo "scan $NONCE" && sleep %s

FROM busybox AS app
REQUIRE --if=GATES test scan
ARG NONCE
RUN echo "app $NONCE" && sleep %s
`, syntaxOurs, sleeps["test"], sleeps["scan"], sleeps["app"])
	if err := writeFile(filepath.Join(dir, "Dockerfile"), df); err != nil {
		return []measure{{Key: "gate_parallel_ratio", Value: errValue(err)}}
	}
	n := 0
	build := func(target, gates string) buildResult {
		n++
		nonce := fmt.Sprintf("%d-%d", time.Now().UnixNano(), n)
		return buildctl(buildOpts{context: dir, dockerfileDir: dir, opts: []string{
			"context:busybox=docker-image://" + busyboxImage, "target=" + target,
			"build-arg:GATES=" + gates, "build-arg:NONCE=" + nonce}}, "plain")
	}
	// Warm the frontend image and base (not timed).
	if r := build("app", "true"); r.err != nil {
		if notSupported(r.output) {
			details["gates"] = map[string]any{"status": "pending", "error": bkharness.Tail(r.output, 5)}
			return []measure{{Key: "gate_parallel_ratio", Value: "pending", Note: "REQUIRE is not in the gateway yet"}}
		}
		return []measure{{Key: "gate_parallel_ratio", Value: errValue(r.err)}}
	}
	reps := 3
	if *smoke {
		reps = 1
	}
	var gated, slowest []float64
	alone := map[string][]float64{}
	for i := 0; i < reps; i++ {
		var worst float64
		for _, t := range []string{"test", "scan", "app"} {
			r := build(t, "false")
			if r.err != nil {
				return []measure{{Key: "gate_parallel_ratio", Value: errValue(r.err)}}
			}
			s := r.took.Seconds()
			alone[t] = append(alone[t], s)
			worst = max(worst, s)
		}
		slowest = append(slowest, worst)
		r := build("app", "true")
		if r.err != nil {
			return []measure{{Key: "gate_parallel_ratio", Value: errValue(r.err)}}
		}
		if !strings.Contains(r.output, "[test ") || !strings.Contains(r.output, "[scan ") {
			return []measure{{Key: "gate_parallel_ratio", Value: "error: the gated build did not run both gates"}}
		}
		gated = append(gated, r.took.Seconds())
	}
	g, s := median(gated), median(slowest)
	details["gates"] = map[string]any{"sleep_s": sleeps, "gated_s": gated, "alone_s": alone, "slowest_alone_s": slowest}
	return []measure{{Key: "gate_parallel_ratio", Value: round3(g / s),
		Note: fmt.Sprintf("app+2 gates %.2f s, slowest alone %.2f s", g, s)}}
}

// notSupported reports whether a build failed because REQUIRE is not (yet)
// handled by the gateway, as opposed to failing for another reason.
func notSupported(out string) bool {
	o := strings.ToLower(out)
	return strings.Contains(o, "not implemented") || strings.Contains(o, "not supported") ||
		(strings.Contains(o, "require") && strings.Contains(o, "unknown instruction"))
}
