package main

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// concurrent_build_ratio: many cached builds at once through one buildkitd.
//
// A round runs concurrentBuilds cached builds of the standard 20-stage
// file (cached_build_ratio's) at once through stagefront, waits for all
// of them, then as many through upstream's frontend (or upstream first:
// the sides alternate which goes first, so that neither always meets the
// other's leftovers), and times each batch from the first start to the
// last end. The value is the median over the rounds of the paired ratios
// (stagefront's batch over upstream's in the same round).

// concurrentBuilds is how many builds run at once.
const concurrentBuilds = 16

func concurrentBuildRatio() []measure {
	const key = "concurrent_build_ratio"
	rounds, builds := 7, concurrentBuilds
	if *smoke {
		// Only that it still works: half the width, two rounds.
		rounds, builds = 2, concurrentBuilds/2
	}
	dir := filepath.Join(tmp, "concurrent")
	if err := writeFile(filepath.Join(dir, "Dockerfile.stagefront"), std20(syntaxOurs)); err != nil {
		return []measure{{Key: key, Value: errValue(err)}}
	}
	if err := writeFile(filepath.Join(dir, "Dockerfile.upstream"), std20(syntaxUpstrem)); err != nil {
		return []measure{{Key: key, Value: errValue(err)}}
	}
	bb := "context:busybox=docker-image://" + busyboxImage
	sides := map[string]buildOpts{
		"stagefront": {context: dir, dockerfileDir: dir, filename: "Dockerfile.stagefront", opts: []string{bb}},
		"upstream":   {context: dir, dockerfileDir: dir, filename: "Dockerfile.upstream", opts: []string{bb}},
	}
	// Warm: each side once alone (the frontend images pulled, every step
	// cached), then, but for a smoke run, once at full width.
	for _, side := range []string{"stagefront", "upstream"} {
		if r := buildctl(sides[side], "plain"); r.err != nil {
			return []measure{{Key: key, Value: errValue(fmt.Errorf("%s: %w", side, r.err))}}
		}
		if *smoke {
			continue
		}
		if _, _, err := batch(sides[side], builds); err != nil {
			return []measure{{Key: key, Value: errValue(fmt.Errorf("%s: %w", side, err))}}
		}
	}
	var ratios, ours, ups, oursEach, upsEach []float64
	for i := range rounds {
		order := []string{"stagefront", "upstream"}
		if i%2 == 1 {
			order = []string{"upstream", "stagefront"}
		}
		wall := map[string]float64{}
		for _, side := range order {
			w, each, err := batch(sides[side], builds)
			if err != nil {
				return []measure{{Key: key, Value: errValue(fmt.Errorf("%s: %w", side, err))}}
			}
			wall[side] = w.Seconds() * 1e3
			if side == "stagefront" {
				oursEach = append(oursEach, each)
			} else {
				upsEach = append(upsEach, each)
			}
		}
		ours, ups = append(ours, wall["stagefront"]), append(ups, wall["upstream"])
		ratios = append(ratios, wall["stagefront"]/wall["upstream"])
		logf("  round %d (%s first): %d at once, stagefront %.0f ms, upstream %.0f ms: %.3f", i+1, order[0], builds, wall["stagefront"], wall["upstream"], ratios[i])
	}
	ratio := round3(median(ratios))
	details["concurrent"] = map[string]any{"builds": builds, "rounds": rounds, "file": "standard-20-stages (cached_build_ratio's), fully cached",
		"aggregate":          "median over rounds of paired ratios (stagefront batch wall time over upstream's in the same round), the sides alternating which goes first",
		"stagefront_wall_ms": ours, "upstream_wall_ms": ups, "ratios": ratios,
		"stagefront_median_build_ms": oursEach, "upstream_median_build_ms": upsEach}
	return []measure{{Key: key, Value: ratio,
		Note: fmt.Sprintf("%d cached builds at once, %d rounds: stagefront %.0f ms, upstream %.0f ms (medians)", builds, rounds, median(ours), median(ups))}}
}

// batch runs n builds of o at once and returns the wall time from the
// first start to the last end, and the median time of one build.
func batch(o buildOpts, n int) (time.Duration, float64, error) {
	res := make([]buildResult, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			res[i] = buildctl(o, "plain")
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	wall := time.Since(start)
	var each []float64
	for _, r := range res {
		if r.err != nil {
			return 0, 0, r.err
		}
		each = append(each, float64(r.took.Milliseconds()))
	}
	return wall, median(each), nil
}
