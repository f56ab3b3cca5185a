package builder

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	sublint "github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/org/stagefront/frontend/lint"
)

// isStagefrontRule reports whether rule is one of package lint's.
func isStagefrontRule(rule string) bool {
	for _, r := range lint.Rules {
		if r.RuleName() == rule {
			return true
		}
	}
	return false
}

// upstreamOnly is lr without stagefront's own warnings: what parity tests
// compare with upstream's results.
func upstreamOnly(lr *sublint.LintResults) *sublint.LintResults {
	if lr == nil {
		return nil
	}
	out := *lr
	out.Warnings = nil
	for _, w := range lr.Warnings {
		if !isStagefrontRule(w.RuleName) {
			out.Warnings = append(out.Warnings, w)
		}
	}
	return &out
}

// upstreamShort drops stagefront's warnings from build warnings in their
// short form ("Rule: message (line N)").
func upstreamShort(ws []string) []string {
	var out []string
	for _, w := range ws {
		rule, _, _ := strings.Cut(w, ":")
		if !isStagefrontRule(rule) {
			out = append(out, w)
		}
	}
	return out
}

// TestCheckAddsStagefrontRules: --call=check has upstream's warnings and
// ours, ours at the original file's lines and source.
func TestCheckAddsStagefrontRules(t *testing.T) {
	dt := []byte("# syntax=org/stagefront\nFROM busybox as build\nRUN echo hi\n\nFROM biuld AS tool\nFROM busybox:1.36\nIF true\nCOPY --from=tool / /\nEND\nUSER 1000\n")
	cv := &converter{orig: dt, opt: testConvertOpt(t, dt, nil, "", nil)}
	lr, err := cv.lint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, w := range lr.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		got[w.RuleName] = line
		if w.Location.SourceIndex != 0 {
			t.Errorf("%s: source index %d", w.RuleName, w.Location.SourceIndex)
		}
	}
	for rule, line := range map[string]int{"FromAsCasing": 2, "ConstantCondition": 7, "StageNotFound": 5, "UnreachableStage": 2} {
		if got[rule] != line {
			t.Errorf("%s at line %d, want %d (all: %v)", rule, got[rule], line, got)
		}
	}
	if len(lr.Sources) != 1 || string(lr.Sources[0].Data) != string(dt) {
		t.Errorf("sources: %d", len(lr.Sources))
	}
}

// TestBuildLintErrorTrue: with check=error=true, one of our rules fails
// the build; without it, it is a warning.
func TestBuildLintErrorTrue(t *testing.T) {
	for _, tc := range []struct {
		df      string
		wantErr bool
	}{
		{"# check=error=true\nFROM busybox:1.36\nUSER 1000\nIF true\nRUN echo\nEND\n", true},
		{"# check=error=true;skip=ConstantCondition\nFROM busybox:1.36\nUSER 1000\nIF true\nRUN echo\nEND\n", false},
		{"FROM busybox:1.36\nUSER 1000\nIF true\nRUN echo\nEND\n", false},
	} {
		warned, err := buildLintOf(t, tc.df)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v, want error %v", tc.df, err, tc.wantErr)
		}
		if tc.wantErr && !strings.Contains(err.Error(), "ConstantCondition") {
			t.Errorf("error %q does not name the rule", err)
		}
		if fired := strings.Contains(strings.Join(warned, " "), "ConstantCondition"); fired == strings.Contains(tc.df, "skip=ConstantCondition") {
			t.Errorf("%q: warnings %v", tc.df, warned)
		}
	}
}

// upstreamOnlyJSON drops stagefront's warnings from a subrequest's
// result.json; other results pass unchanged.
func upstreamOnlyJSON(t testing.TB, dt []byte) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(dt, &v); err != nil {
		t.Fatal(err)
	}
	ws, ok := v["warnings"].([]any)
	if !ok {
		return dt
	}
	var keep []any
	for _, w := range ws {
		if m, ok := w.(map[string]any); ok {
			if name, _ := m["ruleName"].(string); isStagefrontRule(name) {
				continue
			}
		}
		keep = append(keep, w)
	}
	v["warnings"] = keep
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildLintPlainFileParity: a Dockerfile without extensions gets only
// upstream's build warnings, also when the user asked for strict checks.
func TestBuildLintPlainFileParity(t *testing.T) {
	for _, tc := range []struct {
		df      string
		warn    bool
		wantErr bool
	}{
		{"FROM busybox:latest\nRUN echo\n", false, false},
		// A file without extensions builds exactly as upstream, strict
		// checks included: ours are for --call=check.
		{"# check=error=true\nFROM busybox:latest\nRUN echo\n", false, false},
	} {
		warned, err := buildLintOf(t, tc.df)
		if (err != nil) != tc.wantErr || (len(warned) > 0) != tc.warn {
			t.Errorf("%q: error %v, warnings %v", tc.df, err, warned)
		}
	}
}

// buildLintOf runs our build-time rules on df for the default platform and
// returns the rules that warned and the build's lint error.
func buildLintOf(t *testing.T, df string) ([]string, error) {
	t.Helper()
	dt := []byte(df)
	var warned []string
	opt := testConvertOpt(t, dt, nil, "", nil)
	opt.Warn = func(rule, _, _, _ string, _ []parser.Range) { warned = append(warned, rule) }
	cv := &converter{orig: dt, opt: opt}
	rw, err := cv.rewrite(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	unknown := newPendingConversion()
	unknown.finish(nil)
	return warned, cv.buildLint(context.Background(), rw, opt.Warn, unknown)
}

// TestBuildWarningsOrder: our rules run beside the conversion, but their
// warnings come first, then upstream's, as if one ran after the other; and
// check=error=true still fails the build on ours.
func TestBuildWarningsOrder(t *testing.T) {
	for _, strict := range []bool{false, true} {
		df := "ARG MODE=fast\nFROM busybox AS Build\nMAINTAINER me\nIF true\nRUN echo\nEND\n"
		if strict {
			df = "# check=error=true\n" + df
		}
		dt := []byte(df)
		var warned []string
		opt := testConvertOpt(t, dt, nil, "", nil)
		opt.Warn = func(rule, _, _, _ string, _ []parser.Range) { warned = append(warned, rule) }
		cv := &converter{orig: dt, opt: opt}
		_, _, err := cv.toLLB(context.Background(), nil, true)
		if (err != nil) != strict {
			t.Errorf("strict=%v: error %v", strict, err)
		}
		ours := func(rule string) bool {
			return slices.ContainsFunc(lint.Rules, func(r linter.LinterRuleI) bool { return r.RuleName() == rule })
		}
		last := -1
		for i, r := range warned {
			if ours(r) {
				last = i
			}
		}
		firstUpstream := slices.IndexFunc(warned, func(r string) bool { return !ours(r) })
		if last < 0 || firstUpstream < 0 || firstUpstream < last {
			t.Errorf("strict=%v: warnings %v: want ours (ConstantCondition, UnusedGlobalArg) first, then upstream's", strict, warned)
		}
	}
}
