package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// flag_toggle_rebuilt_steps: what re-runs when a flag flips.

// flagToggle counts the steps that run when INCLUDE_DOCS flips from false
// to true after a build with it false: it should be exactly the steps the
// flag guards (the docs stage and the guarded COPY and RUN). A flag that
// leaked into the cache key of other steps (as `ARG INCLUDE_DOCS` in a
// stage does with upstream's shell-if idiom) would re-run more.
func flagToggle() []measure {
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	dir := filepath.Join(tmp, "flag")
	df := fmt.Sprintf(`%s
# INCLUDE_DOCS adds the docs.
ARG INCLUDE_DOCS=false

FROM busybox AS docs
RUN echo "docs %[2]s" > /index.html
RUN cp /index.html /manual.html

FROM busybox AS app
RUN echo "app %[2]s" > /app.txt
RUN cp /app.txt /app2.txt
RUN --if=INCLUDE_DOCS echo "docs on %[2]s" > /docs-on.txt
COPY --if=INCLUDE_DOCS --from=docs /manual.html /docs/manual.html
`, syntaxOurs, nonce)
	if err := writeFile(filepath.Join(dir, "Dockerfile"), df); err != nil {
		return []measure{{Key: "flag_toggle_rebuilt_steps", Value: errValue(err)}}
	}
	o := func(on string) buildOpts {
		return buildOpts{context: dir, dockerfileDir: dir, opts: []string{
			"context:busybox=docker-image://" + busyboxImage, "build-arg:INCLUDE_DOCS=" + on}}
	}
	off := buildctl(o("false"), "rawjson")
	if off.err != nil {
		return []measure{{Key: "flag_toggle_rebuilt_steps", Value: errValue(off.err)}}
	}
	on := buildctl(o("true"), "rawjson")
	if on.err != nil {
		return []measure{{Key: "flag_toggle_rebuilt_steps", Value: errValue(on.err)}}
	}
	offSteps := map[string]bool{}
	for _, v := range off.vertices {
		if n := stepName(v); n != "" {
			offSteps[n] = true
		}
	}
	var guarded, rerun []string
	for _, v := range on.vertices {
		n := stepName(v)
		if n == "" {
			continue
		}
		if !offSteps[n] {
			guarded = append(guarded, n)
		}
		if !v.Cached && v.Completed {
			rerun = append(rerun, n)
		}
	}
	ft := map[string]any{"guarded_steps": len(guarded), "guarded": guarded, "rerun": rerun}
	details["flag_toggle"] = ft
	note := fmt.Sprintf("%d steps guarded by INCLUDE_DOCS (false->true)", len(guarded))
	if offRan, rerun, err := flagToggleUpstream(nonce); err == nil {
		ft["upstream_idiom_off_ran"], ft["upstream_idiom_rerun"] = offRan, rerun
		note += fmt.Sprintf("; upstream's ARG+shell-if idiom: %d steps with the flag off (docs built anyway), %d re-run", len(offRan), len(rerun))
	} else {
		ft["upstream_idiom_error"] = err.Error()
	}
	return []measure{{Key: "flag_toggle_rebuilt_steps", Value: len(rerun), Note: note}}
}

// flagToggleUpstream is the same app written for the upstream frontend the
// way one has to without conditions: the flag as a stage ARG and a shell
// if; the docs stage can't be left out, so it is built either way. It
// returns the steps that ran with the flag off, and those that re-ran when
// it flipped false -> true.
func flagToggleUpstream(nonce string) (offRan, rerun []string, err error) {
	dir := filepath.Join(tmp, "flag-upstream")
	df := fmt.Sprintf(`%s
ARG INCLUDE_DOCS=false

FROM busybox AS docs
RUN echo "docs %[2]s" > /index.html
RUN cp /index.html /manual.html

FROM busybox AS app
ARG INCLUDE_DOCS
RUN echo "app %[2]s" > /app.txt
RUN cp /app.txt /app2.txt
RUN if [ "$INCLUDE_DOCS" = true ]; then echo "docs on %[2]s" > /docs-on.txt; fi
COPY --from=docs /manual.html /docs/manual.html
`, syntaxUpstrem, nonce+"-up")
	if err := writeFile(filepath.Join(dir, "Dockerfile"), df); err != nil {
		return nil, nil, err
	}
	ran := func(on string) ([]string, error) {
		r := buildctl(buildOpts{context: dir, dockerfileDir: dir, opts: []string{
			"context:busybox=docker-image://" + busyboxImage, "build-arg:INCLUDE_DOCS=" + on}}, "rawjson")
		if r.err != nil {
			return nil, r.err
		}
		var out []string
		for _, v := range r.vertices {
			if n := stepName(v); n != "" && !v.Cached && v.Completed {
				out = append(out, n)
			}
		}
		return out, nil
	}
	if offRan, err = ran("false"); err != nil {
		return nil, nil, err
	}
	rerun, err = ran("true")
	return offRan, rerun, err
}
