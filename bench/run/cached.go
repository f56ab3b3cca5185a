package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/org/stagefront/internal/bkharness"
)

// cached_build_ratio: fully cached builds through each frontend image.

type cachedFile struct {
	name string
	// ours and up are the builds with each frontend.
	ours, up buildOpts
}

// std20 is a standard (no extension) 20-stage Dockerfile.
func std20(syntax string) string {
	var b strings.Builder
	b.WriteString(syntax + "\n")
	for s := 0; s < 20; s++ {
		fmt.Fprintf(&b, "FROM busybox AS s%d\n", s)
		if s > 0 {
			fmt.Fprintf(&b, "COPY --from=s%d /s%d /s%d\n", s-1, s-1, s-1)
		}
		fmt.Fprintf(&b, "ENV STAGE=%d\nWORKDIR /w%d\nRUN echo stage %d > /s%d\n", s, s, s, s)
	}
	return b.String()
}

// exampleContexts are the stand-ins of the examples' base images
// (hack/example-images --list), as --opt context:NAME=REF values.
func exampleContexts() ([]string, error) {
	out, err := exec.Command(filepath.Join(root, "hack", "example-images"), "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("hack/example-images --list: %v", err)
	}
	var opts []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name, ref, ok := strings.Cut(line, "="); ok {
			opts = append(opts, "context:"+name+"="+ref)
		}
	}
	return opts, nil
}

// cachedFiles lays out the Dockerfiles of cached_build_ratio: the standard
// 20-stage file, and each example with its own Dockerfile for stagefront
// and its rewrite (by the stagefront CLI, same platform and defaults) for
// upstream, which can't read the extensions.
func cachedFiles() ([]cachedFile, []map[string]any, error) {
	dir := filepath.Join(tmp, "std20")
	if err := writeFile(filepath.Join(dir, "Dockerfile.stagefront"), std20(syntaxOurs)); err != nil {
		return nil, nil, err
	}
	if err := writeFile(filepath.Join(dir, "Dockerfile.upstream"), std20(syntaxUpstrem)); err != nil {
		return nil, nil, err
	}
	bb := "context:busybox=docker-image://" + busyboxImage
	files := []cachedFile{{name: "standard-20-stages",
		ours: buildOpts{context: dir, dockerfileDir: dir, filename: "Dockerfile.stagefront", opts: []string{bb}},
		up:   buildOpts{context: dir, dockerfileDir: dir, filename: "Dockerfile.upstream", opts: []string{bb}}}}
	var skipped []map[string]any
	if *smoke {
		return files, nil, nil
	}
	exs, _ := filepath.Glob(filepath.Join(root, "examples", "*", "Dockerfile"))
	if len(exs) == 0 {
		return files, nil, nil
	}
	ctxOpts, err := exampleContexts()
	if err != nil {
		return nil, nil, err
	}
	cli := filepath.Join(tmp, "stagefront-cli")
	if out, err := exec.Command("go", "build", "-o", cli, "./cmd/frontend").CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go build ./cmd/frontend: %v\n%s", err, out)
	}
	for _, df := range exs {
		exDir := filepath.Dir(df)
		name := filepath.Base(exDir)
		if *filter != "" && !regexp.MustCompile(*filter).MatchString(name) {
			continue
		}
		out, err := exec.Command(cli, "rewrite", "-f", df, "--context", exDir).Output()
		if err != nil {
			var ee *exec.ExitError
			msg := err.Error()
			if errors.As(err, &ee) {
				msg = bkharness.FirstLine(strings.TrimSpace(string(ee.Stderr)))
			}
			skipped = append(skipped, map[string]any{"name": name, "skipped": "stagefront rewrite: " + msg})
			continue
		}
		lines := strings.SplitN(string(out), "\n", 2)
		if !strings.HasPrefix(strings.ReplaceAll(lines[0], " ", ""), "#syntax=") {
			skipped = append(skipped, map[string]any{"name": name, "skipped": "first line is no # syntax= directive"})
			continue
		}
		upDir := filepath.Join(tmp, "examples", name)
		if err := writeFile(filepath.Join(upDir, "Dockerfile"), syntaxUpstrem+"\n"+lines[1]); err != nil {
			return nil, nil, err
		}
		oursDir := exDir
		if *image != "org/stagefront" {
			orig, err := os.ReadFile(df)
			if err != nil {
				return nil, nil, err
			}
			ol := strings.SplitN(string(orig), "\n", 2)
			oursDir = filepath.Join(tmp, "examples-ours", name)
			if err := writeFile(filepath.Join(oursDir, "Dockerfile"), syntaxOurs+"\n"+ol[1]); err != nil {
				return nil, nil, err
			}
		}
		files = append(files, cachedFile{name: name,
			ours: buildOpts{context: exDir, dockerfileDir: oursDir, opts: ctxOpts},
			up:   buildOpts{context: exDir, dockerfileDir: upDir, opts: ctxOpts}})
	}
	return files, skipped, nil
}

// cachedBuilds times fully cached builds through each frontend image, the
// two alternating (and swapping which goes first) so that both see the
// same machine load; per file the median of the paired ratios, then the
// geometric mean over the files.
func cachedBuilds() []measure {
	files, skipped, err := cachedFiles()
	if err != nil {
		return []measure{{Key: "cached_build_ratio", Value: errValue(err)}}
	}
	var rows []map[string]any
	var logSum float64
	var n int
	var stdRatio float64
	for _, f := range files {
		// Warm: build, then build again so the second is fully cached
		// (and the frontend images are pulled).
		var werr error
		for _, o := range []buildOpts{f.ours, f.up, f.ours, f.up} {
			if r := buildctl(o, "plain"); r.err != nil {
				werr = r.err
				break
			}
		}
		if werr != nil {
			if f.name == "standard-20-stages" {
				return []measure{{Key: "cached_build_ratio", Value: errValue(werr)}}
			}
			rows = append(rows, map[string]any{"name": f.name, "skipped": bkharness.FirstLine(strings.TrimSpace(werr.Error()))})
			continue
		}
		var ours, up []float64
		for i := 0; i < *runs; i++ {
			pair := []buildOpts{f.ours, f.up}
			if i%2 == 1 {
				pair = []buildOpts{f.up, f.ours}
			}
			for j, o := range pair {
				r := buildctl(o, "plain")
				if r.err != nil {
					return []measure{{Key: "cached_build_ratio", Value: errValue(r.err)}}
				}
				if (i%2 == 0) == (j == 0) {
					ours = append(ours, float64(r.took.Milliseconds()))
				} else {
					up = append(up, float64(r.took.Milliseconds()))
				}
			}
		}
		// The ratio of a file is the median of the paired ratios (each run
		// of stagefront over the upstream run next to it): pairs see the
		// same machine load, which drifts on a shared machine.
		mo, mu := median(ours), median(up)
		paired := make([]float64, len(ours))
		for i := range ours {
			paired[i] = ours[i] / up[i]
		}
		ratio := median(paired)
		if f.name == "standard-20-stages" {
			stdRatio = ratio
		}
		logSum += math.Log(ratio)
		n++
		rows = append(rows, map[string]any{"name": f.name, "stagefront_ms": mo, "upstream_ms": mu, "ratio": round3(ratio),
			"ratio_of_medians":      round3(mo / mu),
			"stagefront_samples_ms": ours, "upstream_samples_ms": up})
	}
	rows = append(rows, skipped...)
	gm := math.Exp(logSum / float64(n))
	details["cached_build"] = map[string]any{"runs": *runs, "aggregate": "geometric mean over the files of the median of paired (adjacent-run) ratios",
		"standard_20_stage_ratio": round3(stdRatio), "files": rows}
	return []measure{{Key: "cached_build_ratio", Value: round3(gm),
		Note: fmt.Sprintf("%d Dockerfiles x %d runs each side; 20-stage file alone %.3f", n, *runs, stdRatio)}}
}

func writeFile(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}
