package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// -profile: where the gateway's per-platform path spends its time on the
// 200-stage extended file (frontend/builder's BenchmarkGatewayConvert
// gateway/200), phase by phase, with the CPU and the allocations of each
// per op, beside upstream's conversion of the rewrite. It writes the
// profiles and the report under .cache/profile/ and prints the report.
//
// The phases are read off each sample's stack (see phaseRules): the
// deepest frame a rule names decides, so the BuildKit parse the analysis
// runs counts apart from the one dockerfile2llb runs, and an allocation
// (with its share of GC assist) counts in the phase that made it. The
// GC's background workers run beside the path, on the other core: they
// are a row of their own.

const (
	profileStages = "200"
	// profileOps is how many conversions each profiled run makes: enough
	// samples for a breakdown (10 ms a CPU sample), short enough for a
	// minute or two in all.
	profileCPUOps = 60
	profileMemOps = 15
	// profilePairs rounds of one upstream and one gateway conversion
	// each (-count), for the paired ratio, ns/op and allocations.
	profilePairs = 7
	// profileMemRate samples an allocation every so many bytes
	// (-memprofilerate): fine enough for allocs/op per phase.
	profileMemRate = 4096
)

// phaseRule: a frame whose function is fn (a trailing * matches a
// prefix) puts the sample in phase, when the phase found so far (from
// the root down) starts with within.
type phaseRule struct {
	fn, within, phase string
}

const (
	pParse     = "1 stagefront's parse/BuildKit parser.Parse"
	pScan      = "1 stagefront's parse/extension scan (syntax)"
	pAnalysis  = "2 analysis/other"
	pInstr     = "2 analysis/FROM and ARG (BuildKit instruction parser)"
	pRefs      = "2 analysis/stage refs"
	pOwners    = "2 analysis/block owners (joins)"
	pCompile   = "2 analysis/condition compile/other"
	pCompSetup = "2 analysis/condition compile/compiler setup"
	pExprParse = "2 analysis/condition compile/expr parse"
	pExprCheck = "2 analysis/condition compile/expr type check"
	pExprComp  = "2 analysis/condition compile/expr compile"
	pOurCheck  = "2 analysis/condition compile/stagefront's check"
	pScopes    = "2 analysis/ARG scopes"
	pEval      = "3 evaluation/other"
	pEvalSetup = "3 evaluation/setup"
	pEvalCond  = "3 evaluation/conditions"
	pEvalWalk  = "3 evaluation/walk"
	pEvalStage = "3 evaluation/stages and refs"
	pWrite     = "4 rewrite writing"
	pChecks    = "5 stagefront's build checks"
	pD2LLB     = "6 dockerfile2llb/dispatch (LLB)"
	pD2Parse   = "6 dockerfile2llb/parse (parser.Parse)"
	pD2Instr   = "6 dockerfile2llb/instructions.Parse"
	pD2Images  = "6 dockerfile2llb/base images"
	pGlue      = "7 gateway glue (toLLB, options, warnings)"
	pGC        = "8 GC (background workers)"
	pSetup     = "9 benchmark setup (not counted)"
	pOther     = "9 scheduler, other (not counted)"
)

const (
	sf = "github.com/org/stagefront/frontend/"
	bk = "github.com/moby/buildkit/frontend/dockerfile/"
)

var phaseRules = []phaseRule{
	{"runtime.gcBgMarkWorker", "", pGC},
	{"runtime.bgsweep", "", pGC},
	{"runtime.bgscavenge", "", pGC},
	{sf + "builder.BenchmarkGatewayConvert", "", pSetup},
	{sf + "builder.BenchmarkGatewayConvert.func*", "", pGlue},
	{sf + "builder.(*converter).toLLB*", "", pGlue},
	{sf + "builder.(*converter).buildLint", "", pChecks},
	{bk + "dockerfile2llb.Dockerfile2LLB", "", pD2LLB},
	{bk + "dockerfile2llb.(*dispatchContext).resolveReachableStages.func*", "", pD2Images},
	{bk + "parser.Parse", "6 ", pD2Parse},
	{bk + "instructions.Parse", "6 ", pD2Instr},
	{sf + "analysis.analyzeFile", "7 ", pAnalysis},
	{sf + "syntax.parse", "2 ", pScan},
	{bk + "parser.Parse", "1 ", pParse},
	{sf + "analysis.(*File).instruction", "2 ", pInstr},
	{sf + "analysis.(*File).flagRefs", "2 ", pRefs},
	{sf + "analysis.(*File).link", "2 ", pRefs},
	{sf + "analysis.(*File).checkRequireNames", "2 ", pRefs},
	{sf + "analysis.(*File).findJoins", "2 ", pOwners},
	// The conditions of a file of many are compiled by goroutines of
	// their own (the setup's rewrites count here too: 2 of profileCPUOps).
	{sf + "analysis.(*File).compile*", "", pCompile},
	{sf + "conditions.NewCompiler", "2 analysis/condition compile", pCompSetup},
	{sf + "conditions.(*compilation).*", "2 analysis/condition compile", pOurCheck},
	{"github.com/expr-lang/expr/parser.*", "2 analysis/condition compile", pExprParse},
	{"github.com/expr-lang/expr/checker.*", "2 analysis/condition compile", pExprCheck},
	{"github.com/expr-lang/expr/compiler.*", "2 analysis/condition compile", pExprComp},
	{sf + "analysis.scope.*", "2 ", pScopes},
	{sf + "rewrite.Evaluate", "7 ", pEval},
	{sf + "rewrite.newEvaluation", "3 ", pEvalSetup},
	{sf + "rewrite.(*evaluation).walk", "3 ", pEvalWalk},
	{sf + "rewrite.(*evaluation).eval", "3 ", pEvalCond},
	{sf + "rewrite.(*evaluation).output", "3 ", pWrite},
	{sf + "rewrite.(*evaluation).indexStages", "3 ", pEvalStage},
	{sf + "rewrite.(*evaluation).checkStages", "3 ", pEvalStage},
	{sf + "rewrite.(*evaluation).graph", "3 ", pEvalStage},
	{sf + "rewrite.(*evaluation).checkRequires", "3 ", pEvalStage},
	{sf + "rewrite.(*evaluation).reach", "3 ", pEvalStage},
	{sf + "rewrite.(*evaluation).checkRefs", "3 ", pEvalStage},
	{sf + "rewrite.(*evaluation).resolveRefs", "3 ", pEvalStage},
}

// phaseOf returns the phase of a sample, its stack from the leaf down.
func phaseOf(stack []string) string {
	phase := pOther
	for i := len(stack) - 1; i >= 0; i-- {
		fn := stack[i]
		for _, r := range phaseRules {
			if !strings.HasPrefix(phase, r.within) {
				continue
			}
			if p, ok := strings.CutSuffix(r.fn, "*"); ok && strings.HasPrefix(fn, p) || fn == r.fn {
				phase = r.phase
				break
			}
		}
	}
	return phase
}

// sample is one stack of a profile and its value.
type sample struct {
	value float64
	stack []string // leaf first
}

// traces reads go tool pprof -traces: the samples of a profile, for one
// sample index ("" the default), values in unit ("ms", "B", "").
func traces(bin, prof, index, unit string) ([]sample, error) {
	args := []string{"tool", "pprof", "-traces"}
	if index != "" {
		args = append(args, "-sample_index="+index)
	}
	if unit != "" {
		args = append(args, "-unit="+unit)
	}
	out, err := exec.Command("go", append(args, bin, prof)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -traces %s: %v", prof, err)
	}
	var got []sample
	var cur *sample
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "-----") {
			cur = nil
			continue
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if cur == nil {
			if len(f) < 2 {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSuffix(f[0], unit), 64)
			if err != nil {
				continue // the header
			}
			got = append(got, sample{value: v})
			cur = &got[len(got)-1]
			f = f[1:]
		}
		cur.stack = append(cur.stack, f[0]) // " (inline)" dropped
	}
	return got, nil
}

// phaseTotals sums the samples by phase, and the samples of each phase
// that are in the allocator (malloc and its GC assist).
func phaseTotals(ss []sample) (byPhase, inMalloc map[string]float64) {
	byPhase, inMalloc = map[string]float64{}, map[string]float64{}
	for _, s := range ss {
		p := phaseOf(s.stack)
		byPhase[p] += s.value
		if slices.ContainsFunc(s.stack, func(fn string) bool {
			return strings.HasPrefix(fn, "runtime.mallocgc") || fn == "runtime.gcAssistAlloc" || fn == "runtime.growslice" || fn == "runtime.newobject"
		}) {
			inMalloc[p] += s.value
		}
	}
	return byPhase, inMalloc
}

// topFuncs returns the n functions with the most value, flat (the leaf)
// or cumulative (anywhere in the stack, once a sample), whose name
// matches keep (nil: all), with the counted phases only.
func topFuncs(ss []sample, n int, cum bool, keep func(string) bool) []kv {
	m := map[string]float64{}
	for _, s := range ss {
		if p := phaseOf(s.stack); strings.HasPrefix(p, "9 ") {
			continue
		}
		if !cum {
			m[s.stack[0]] += s.value
			continue
		}
		seen := map[string]bool{}
		for _, fn := range s.stack {
			if !seen[fn] {
				seen[fn] = true
				m[fn] += s.value
			}
		}
	}
	var out []kv
	for k, v := range m {
		if keep == nil || keep(k) {
			out = append(out, kv{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].v > out[j].v || out[i].v == out[j].v && out[i].k < out[j].k })
	return out[:min(n, len(out))]
}

type kv struct {
	k string
	v float64
}

var profBenchLine = regexp.MustCompile(`^BenchmarkGatewayConvert/(\S+?)/` + profileStages + `(?:-\d+)?\s+\d+\s+([\d.]+) ns/op.*?\s([\d.]+) B/op\s+([\d.]+) allocs/op`)

// runProfile is -profile.
func runProfile() error {
	dir := filepath.Join(root, ".cache", "profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(dir, "builder.test")
	t0 := time.Now()
	load0 := loadavg()
	logf("profile: building the test binary of ./frontend/builder ...")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, "./frontend/builder").CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c: %v\n%s", err, out)
	}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-test.run=^$", "-test.benchmem"}, args...)...)
		cmd.Dir = filepath.Join(root, "frontend", "builder")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	bench := func(side string) string {
		return "-test.bench=^BenchmarkGatewayConvert$/^" + side + "$/^" + profileStages + "$"
	}

	// Paired rounds: one upstream and one gateway conversion in turn.
	logf("profile: %d paired rounds of upstream and gateway ...", profilePairs)
	out, err := run("-test.bench=^BenchmarkGatewayConvert$/^(upstream|gateway)$/^"+profileStages+"$", "-test.benchtime=5x", "-test.count="+strconv.Itoa(profilePairs))
	if err != nil {
		return err
	}
	ns := map[string][]float64{}
	mem := map[string][2]float64{}
	for _, l := range strings.Split(out, "\n") {
		if m := profBenchLine.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			b, _ := strconv.ParseFloat(m[3], 64)
			a, _ := strconv.ParseFloat(m[4], 64)
			ns[m[1]] = append(ns[m[1]], v)
			mem[m[1]] = [2]float64{b, a}
		}
	}
	if len(ns["gateway"]) == 0 || len(ns["upstream"]) == 0 {
		return fmt.Errorf("no samples in:\n%s", out)
	}

	cpu := map[string]string{}
	for _, side := range []string{"gateway", "upstream"} {
		logf("profile: CPU profile of %s/%s, %d ops ...", side, profileStages, profileCPUOps)
		cpu[side] = filepath.Join(dir, "cpu-"+side+".pprof")
		if _, err := run(bench(side), fmt.Sprintf("-test.benchtime=%dx", profileCPUOps), "-test.cpuprofile="+cpu[side]); err != nil {
			return err
		}
	}
	memProf := map[string]string{}
	for _, side := range []string{"gateway", "upstream"} {
		logf("profile: allocation profile of %s/%s, %d ops ...", side, profileStages, profileMemOps)
		memProf[side] = filepath.Join(dir, "mem-"+side+".pprof")
		if _, err := run(bench(side), fmt.Sprintf("-test.benchtime=%dx", profileMemOps), "-test.memprofile="+memProf[side], fmt.Sprintf("-test.memprofilerate=%d", profileMemRate)); err != nil {
			return err
		}
	}

	type side struct {
		cpu, cpuMalloc, bytes, objects map[string]float64
		cpuSamples, objSamples         []sample
	}
	read := func(s string) (side, error) {
		var r side
		c, err := traces(bin, cpu[s], "", "ms")
		if err != nil {
			return r, err
		}
		b, err := traces(bin, memProf[s], "alloc_space", "B")
		if err != nil {
			return r, err
		}
		o, err := traces(bin, memProf[s], "alloc_objects", "")
		if err != nil {
			return r, err
		}
		r.cpu, r.cpuMalloc = phaseTotals(c)
		r.bytes, _ = phaseTotals(b)
		r.objects, _ = phaseTotals(o)
		r.cpuSamples, r.objSamples = c, o
		return r, nil
	}
	gw, err := read("gateway")
	if err != nil {
		return err
	}
	up, err := read("upstream")
	if err != nil {
		return err
	}

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# The gateway's per-platform path, %s-stage extended file\n\n", profileStages)
	w("go run ./bench/run -profile (hack/bench --profile), %s, %s, %d cores, load %s -> %s, %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), load0, loadavg(), time.Since(t0).Round(time.Second))
	w("frontend/builder BenchmarkGatewayConvert: gateway/%s is converter.toLLB (analysis, evaluation,\n", profileStages)
	w("rewrite, stagefront's build checks beside dockerfile2llb); upstream/%s is dockerfile2llb of the rewrite.\n\n", profileStages)
	ratios := make([]float64, 0, len(ns["gateway"]))
	for i := range min(len(ns["gateway"]), len(ns["upstream"])) {
		ratios = append(ratios, ns["gateway"][i]/ns["upstream"][i])
	}
	sorted := slices.Clone(ratios)
	sort.Float64s(sorted)
	w("Paired rounds (-count %d, 5 ops each): gateway %.1f ms/op, upstream %.1f ms/op (medians); gateway/upstream %.3f (median of pairs; %.3f-%.3f)\n",
		profilePairs, median(ns["gateway"])/1e6, median(ns["upstream"])/1e6, median(ratios), sorted[0], sorted[len(sorted)-1])
	w("Allocations: gateway %.0f allocs/op, %.2f MB/op; upstream %.0f allocs/op, %.2f MB/op (%.2fx, %.2fx)\n\n",
		mem["gateway"][1], mem["gateway"][0]/1e6, mem["upstream"][1], mem["upstream"][0]/1e6, mem["gateway"][1]/mem["upstream"][1], mem["gateway"][0]/mem["upstream"][0])

	phases := map[string]bool{}
	for _, m := range []map[string]float64{gw.cpu, gw.bytes, up.cpu, up.bytes} {
		for p := range m {
			phases[p] = true
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for p := range phases {
			if !yield(p) {
				return
			}
		}
	})
	w("CPU ms/op is CPU time per conversion (both cores: the checks and the GC's workers run beside the path);\n")
	w("alloc is the part of it in the allocator (malloc, its GC assist). MB/op and allocs/op: sampled every %d B.\n\n", profileMemRate)
	w("| phase | CPU ms/op | share | alloc ms/op | MB/op | allocs/op | upstream CPU ms/op | upstream allocs/op |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	total := func(m map[string]float64) (t float64) {
		for p, v := range m {
			if !strings.HasPrefix(p, "9 ") {
				t += v
			}
		}
		return t
	}
	gwTotal := total(gw.cpu)
	// Group totals (the text before the first /), then their parts.
	groups := map[string][4]float64{}
	upGroups := map[string][2]float64{}
	for _, p := range names {
		g, _, _ := strings.Cut(p, "/")
		x := groups[g]
		x[0] += gw.cpu[p]
		x[1] += gw.cpuMalloc[p]
		x[2] += gw.bytes[p]
		x[3] += gw.objects[p]
		groups[g] = x
		u := upGroups[g]
		u[0] += up.cpu[p]
		u[1] += up.objects[p]
		upGroups[g] = u
	}
	row := func(label string, c, cm, by, ob, uc, uo float64) {
		upc, upo := "", ""
		if uc > 0 || uo > 0 {
			upc, upo = fmt.Sprintf("%.1f", uc/profileCPUOps), fmt.Sprintf("%.0f", uo/profileMemOps)
		}
		w("| %s | %.1f | %.1f%% | %.1f | %.2f | %.0f | %s | %s |\n", label, c/profileCPUOps, 100*c/gwTotal, cm/profileCPUOps, by/profileMemOps/1e6, ob/profileMemOps, upc, upo)
	}
	done := map[string]bool{}
	for _, p := range names {
		g, _, _ := strings.Cut(p, "/")
		if done[g] {
			continue
		}
		done[g] = true
		x, u := groups[g], upGroups[g]
		row("**"+g[2:]+"**", x[0], x[1], x[2], x[3], u[0], u[1])
		var parts []string
		for _, q := range names {
			if strings.HasPrefix(q, g+"/") {
				parts = append(parts, q)
			}
		}
		if len(parts) > 1 || len(parts) == 1 && parts[0] != g {
			for _, q := range parts {
				row("&nbsp;&nbsp;"+strings.TrimPrefix(q, g+"/"), gw.cpu[q], gw.cpuMalloc[q], gw.bytes[q], gw.objects[q], up.cpu[q], up.objects[q])
			}
		}
	}
	w("| **total (counted)** | %.1f | 100%% | %.1f | %.2f | %.0f | %.1f | %.0f |\n\n", gwTotal/profileCPUOps, total(gw.cpuMalloc)/profileCPUOps,
		total(gw.bytes)/profileMemOps/1e6, total(gw.objects)/profileMemOps, total(up.cpu)/profileCPUOps, total(up.objects)/profileMemOps)

	w("Top functions of the gateway path, CPU ms/op, flat (where the time is spent):\n\n")
	for _, e := range topFuncs(gw.cpuSamples, 25, false, nil) {
		w("  %7.2f  %s\n", e.v/profileCPUOps, e.k)
	}
	w("\nTop stagefront functions, CPU ms/op, cumulative:\n\n")
	for _, e := range topFuncs(gw.cpuSamples, 25, true, func(fn string) bool { return strings.HasPrefix(fn, "github.com/org/stagefront/") }) {
		w("  %7.2f  %s\n", e.v/profileCPUOps, e.k)
	}
	w("\nTop allocation sites of the gateway path, allocs/op:\n\n")
	for _, e := range topFuncs(gw.objSamples, 25, false, nil) {
		w("  %8.0f  %s\n", e.v/profileMemOps, e.k)
	}
	w("\nTop stagefront functions, allocs/op, cumulative:\n\n")
	for _, e := range topFuncs(gw.objSamples, 20, true, func(fn string) bool { return strings.HasPrefix(fn, "github.com/org/stagefront/") }) {
		w("  %8.0f  %s\n", e.v/profileMemOps, e.k)
	}
	w("\nProfiles: %s (go tool pprof %s <profile>)\n", dir, bin)

	report := filepath.Join(dir, "profile.txt")
	if err := os.WriteFile(report, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	logf("profile: wrote %s in %s", report, time.Since(t0).Round(time.Second))
	return nil
}
