package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rewrite_parse_ratio, rewrite_growth and convert_ratio: go test -bench
// runs of the engine and the gateway's conversion, side by side with
// BuildKit's parser and upstream's conversion.

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*?\s([\d.]+) B/op\s+([\d.]+) allocs/op)?`)

// cpuMetric is the process's CPU time per op a benchmark reports beside
// its wall time (llbtest.LoopCPU); ratioMetric the median ratio of the
// pairs of ops of an interleaved one (llbtest.Interleaved).
var (
	cpuMetric   = regexp.MustCompile(`\s([\d.]+) cpu-ns/op`)
	ratioMetric = regexp.MustCompile(`\s([\d.]+) ratio(\s|$)`)
)

// goBench runs go test -bench in pkg and returns the ns/op samples of each
// (sub-)benchmark, in the order the -count repetitions printed them, and
// under the benchmark's name and cpuSuffix the samples of its CPU time per
// op, when it reports it.
func goBench(pkg, pattern, benchtime string, count int, timeout time.Duration) (map[string][]float64, string, error) {
	got, _, out, err := goBenchMem(pkg, pattern, benchtime, count, timeout, false)
	return got, out, err
}

// cpuSuffix names the CPU time samples of a benchmark, ratioSuffix the
// ratios of an interleaved one (see goBench).
const (
	cpuSuffix   = " cpu"
	ratioSuffix = " ratio"
)

// memory are the B/op and allocs/op of a benchmark (the last sample).
type memory struct {
	Bytes  float64 `json:"bytes_per_op"`
	Allocs float64 `json:"allocs_per_op"`
}

// goBenchMem is goBench, with -benchmem when mem is set: the memory of
// each benchmark too.
func goBenchMem(pkg, pattern, benchtime string, count int, timeout time.Duration, mem bool) (map[string][]float64, map[string]memory, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime,
		"-count", strconv.Itoa(count), "-timeout", (timeout + time.Minute).String()}
	if mem {
		args = append(args, "-benchmem")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	out, err := cmd.CombinedOutput()
	got := map[string][]float64{}
	mems := map[string]memory{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := benchLine.FindStringSubmatch(sc.Text()); m != nil {
			f, _ := strconv.ParseFloat(m[2], 64)
			got[m[1]] = append(got[m[1]], f)
			if c := cpuMetric.FindStringSubmatch(sc.Text()); c != nil {
				f, _ := strconv.ParseFloat(c[1], 64)
				got[m[1]+cpuSuffix] = append(got[m[1]+cpuSuffix], f)
			}
			if r := ratioMetric.FindStringSubmatch(sc.Text()); r != nil {
				f, _ := strconv.ParseFloat(r[1], 64)
				got[m[1]+ratioSuffix] = append(got[m[1]+ratioSuffix], f)
			}
			if m[3] != "" {
				b, _ := strconv.ParseFloat(m[3], 64)
				a, _ := strconv.ParseFloat(m[4], 64)
				mems[m[1]] = memory{Bytes: b, Allocs: a}
			}
		}
	}
	if ctx.Err() != nil {
		return got, mems, string(out), fmt.Errorf("go test -bench %s %s: over %s", pattern, pkg, timeout)
	}
	if err != nil {
		return got, mems, string(out), fmt.Errorf("go test -bench %s %s: %v\n%s", pattern, pkg, err, out)
	}
	return got, mems, string(out), nil
}

// rewriteBench runs frontend/rewrite's BenchmarkRewrite: the full rewrite
// (uncached) against parser.Parse on the same generated extended file.
func rewriteBench() []measure {
	small, big := "10k", "100k"
	count, benchtime := 5, "1s"
	// 3 runs a sample at 100k, so that each sample runs on a warm heap as
	// the 10k ones (about 30 runs a sample) do.
	bigTime, bigCount := "3x", 5
	if *smoke {
		// The smoke run sizes are the same files: only fewer samples.
		count, benchtime, bigTime, bigCount = 1, "1x", "1x", 1
	}
	d := map[string]any{}
	details["rewrite"] = d
	got, _, err := goBench("./frontend/rewrite", "BenchmarkRewrite/.*/"+small+"$", benchtime, count, 3*time.Minute)
	if err != nil {
		return []measure{{Key: "rewrite_parse_ratio", Value: errValue(err)}, {Key: "rewrite_growth", Value: errValue(err)}}
	}
	parse, rw := median(got["BenchmarkRewrite/parse/"+small]), median(got["BenchmarkRewrite/rewrite/"+small])
	d["parse_10k_ms"], d["rewrite_10k_ms"] = round3(parse/1e6), round3(rw/1e6)
	d["samples_ns"] = got
	// The same ratio of the CPU time the process spent per op: less
	// sensitive to the load of other processes than the wall time.
	d["cpu_ratio"] = round3(ratioOfMedians(got["BenchmarkRewrite/rewrite/"+small+cpuSuffix], got["BenchmarkRewrite/parse/"+small+cpuSuffix]))
	d["sequential_ratio"] = round3(rw / parse)
	ratio, err := interleaved(d, "./frontend/rewrite", "BenchmarkRewrite/pairs/"+small+"-interleaved", "interleaved")
	ms := []measure{{Key: "rewrite_parse_ratio", Value: valueOr(ratio, err),
		Note: fmt.Sprintf("op against op; rewrite %.1f ms, parse %.1f ms (10k instructions, medians of runs of each)", rw/1e6, parse/1e6)}}

	// 100k: a few runs per sample are enough at this size (and the time
	// limit keeps a super-linear engine from eating the run). The parser's
	// own growth is measured beside it, for reference.
	limit := 4 * time.Minute
	got2, _, err := goBench("./frontend/rewrite", "BenchmarkRewrite/.*/"+big+"$", bigTime, bigCount, limit)
	if err != nil {
		if len(got2[("BenchmarkRewrite/rewrite/"+big)]) == 0 && strings.Contains(err.Error(), "over") {
			return append(ms, measure{Key: "rewrite_growth", Value: fmt.Sprintf("> %.0f", limit.Seconds()*1e9/float64(bigCount)/rw),
				Note: "rewrite/100k did not finish in " + limit.String()})
		}
		return append(ms, measure{Key: "rewrite_growth", Value: errValue(err)})
	}
	rwBig, parseBig := median(got2["BenchmarkRewrite/rewrite/"+big]), median(got2["BenchmarkRewrite/parse/"+big])
	d["rewrite_100k_ms"], d["parse_100k_ms"] = round3(rwBig/1e6), round3(parseBig/1e6)
	d["parse_growth"] = round3(parseBig / parse)
	d["samples_100k_ns"] = got2
	return append(ms, measure{Key: "rewrite_growth", Value: round3(rwBig / rw),
		Note: fmt.Sprintf("rewrite 100k %.0f ms / 10k %.1f ms (linear: 10; parser.Parse alone: %.1f)", rwBig/1e6, rw/1e6, parseBig/parse)})
}

// convertBench runs bench's BenchmarkConvert: rewrite + dockerfile2llb on
// a generated extended file vs dockerfile2llb on its rewrite.
func convertBench() []measure {
	size := "200"
	count, benchtime := 10, "5x"
	if *smoke {
		size, count, benchtime = "20", 1, "2x"
	}
	got, _, err := goBench("./bench", "BenchmarkConvert/.*/"+size+"$", benchtime, count, 4*time.Minute)
	if err != nil {
		return []measure{{Key: "convert_ratio", Value: errValue(err)}}
	}
	ours, up := median(got["BenchmarkConvert/stagefront/"+size]), median(got["BenchmarkConvert/upstream/"+size])
	parse := median(got["BenchmarkConvert/parse/"+size])
	d := map[string]any{"stages": size, "stagefront_ms": round3(ours / 1e6), "upstream_ms": round3(up / 1e6),
		"parse_ms": round3(parse / 1e6), "samples_ns": got,
		"sequential_ratio": round3(ours / up), "sequential_floor": round3(1 + parse/up),
		// The ratios of the CPU time the process spent per op (see
		// rewriteBench).
		"cpu_ratio": round3(ratioOfMedians(got["BenchmarkConvert/stagefront/"+size+cpuSuffix], got["BenchmarkConvert/upstream/"+size+cpuSuffix])),
		"cpu_floor": round3(1 + ratioOfMedians(got["BenchmarkConvert/parse/"+size+cpuSuffix], got["BenchmarkConvert/upstream/"+size+cpuSuffix]))}
	details["convert"] = d
	// The keys: op against op. The floor is the parse of the file over
	// upstream's conversion, plus one.
	ratio, ratioErr := interleaved(d, "./bench", "BenchmarkConvert/pairs/"+size+"-interleaved", "interleaved")
	parseRatio, floorErr := interleaved(d, "./bench", "BenchmarkConvert/parse-pairs/"+size+"-interleaved", "interleaved_parse")
	floor := 1 + parseRatio
	if floorErr != nil {
		ratioErr = floorErr
	} else {
		d["floor"] = round3(floor)
	}
	convert := measure{Key: "convert_ratio", Value: valueOr(ratio, ratioErr),
		Note: fmt.Sprintf("%s stages, op against op: %.1f ms vs %.1f ms (upstream converts the rewrite); the parse alone makes %.2f the floor", size, ours/1e6, up/1e6, floor)}
	// The gateway's whole per-platform path (its build rules run beside
	// the conversion), against upstream with warnings on too; and a
	// standard file of the same shape through it (plain_convert_ratio).
	gwGot, gwMem, _, err := goBenchMem("./frontend/builder", "BenchmarkGatewayConvert/.*/"+size+"$", benchtime, count, 4*time.Minute, true)
	if err != nil {
		return []measure{convert, {Key: "gateway_path_ratio", Value: errValue(err)}, {Key: "plain_convert_ratio", Value: errValue(err)}}
	}
	name := func(side string) string { return "BenchmarkGatewayConvert/" + side + "/" + size }
	gw, gwUp := median(gwGot[name("gateway")]), median(gwGot[name("upstream")])
	d["gateway_path_ms"], d["gateway_upstream_ms"] = round3(gw/1e6), round3(gwUp/1e6)
	d["gateway_samples_ns"] = gwGot
	d["gateway_cpu_ratio"] = round3(ratioOfMedians(gwGot[name("gateway")+cpuSuffix], gwGot[name("upstream")+cpuSuffix]))
	d["plain_cpu_ratio"] = round3(ratioOfMedians(gwGot[name("plain-gateway")+cpuSuffix], gwGot[name("plain-upstream")+cpuSuffix]))

	// Allocations of each side: a regression shows here first.
	d["gateway_memory"] = map[string]memory{"gateway": gwMem[name("gateway")], "upstream": gwMem[name("upstream")],
		"plain_gateway": gwMem[name("plain-gateway")], "plain_upstream": gwMem[name("plain-upstream")]}
	allocs := gwMem[name("gateway")].Allocs / gwMem[name("upstream")].Allocs
	bytesRatio := gwMem[name("gateway")].Bytes / gwMem[name("upstream")].Bytes
	d["gateway_sequential_ratio"] = round3(gw / gwUp)
	gwRatio, gwErr := interleaved(d, "./frontend/builder", "BenchmarkGatewayConvert/pairs/"+size+"-interleaved", "gateway_interleaved")
	gateway := measure{Key: "gateway_path_ratio", Value: valueOr(gwRatio, gwErr),
		Note: fmt.Sprintf("%s stages, op against op: the gateway's whole per-platform path, build checks included, %.1f ms vs upstream's conversion %.1f ms; allocs/op %.2fx, B/op %.2fx", size, gw/1e6, gwUp/1e6, allocs, bytesRatio)}
	pg, pu := median(gwGot[name("plain-gateway")]), median(gwGot[name("plain-upstream")])
	d["plain_sequential_ratio"] = round3(pg / pu)
	plainRatio, plainErr := interleaved(d, "./frontend/builder", "BenchmarkGatewayConvert/plain-pairs/"+size+"-interleaved", "plain_interleaved")
	plain := measure{Key: "plain_convert_ratio", Value: valueOr(plainRatio, plainErr),
		Note: fmt.Sprintf("a standard %s-stage file, op against op: %.1f ms vs %.1f ms; allocs/op %.0f vs %.0f", size, pg/1e6, pu/1e6, gwMem[name("plain-gateway")].Allocs, gwMem[name("plain-upstream")].Allocs)}
	return []measure{convert, gateway, plain}
}

// interleaved runs the interleaved benchmark name of pkg (see
// llbtest.Interleaved: the two sides op against op, in turn which goes
// first, each after a collection of the garbage before it) and returns the
// median of its runs' ratios; d[key+"_samples"] holds them. The ratio
// keys are read this way: go test -count repeats one sub-benchmark before
// it runs the next, so runs of two sub-benchmarks are seconds to minutes
// apart and a shared machine's load drifts between them (a standard file,
// the same path on both sides, measured 1.19 so and 1.025 op against op).
func interleaved(d map[string]any, pkg, name, key string) (float64, error) {
	count, benchtime := 7, "10x"
	if *smoke {
		count, benchtime = 1, "1x"
	}
	got, _, err := goBench(pkg, "^"+strings.ReplaceAll(regexp.QuoteMeta(name), "/", "$/^")+"$", benchtime, count, 4*time.Minute)
	if err != nil {
		return 0, err
	}
	rs := got[name+ratioSuffix]
	if len(rs) == 0 {
		return 0, fmt.Errorf("%s: no ratio in its output", name)
	}
	d[key+"_samples"] = rs
	return median(rs), nil
}

// valueOr is the value of a ratio key: v rounded, or err's text.
func valueOr(v float64, err error) any {
	if err != nil {
		return errValue(err)
	}
	return round3(v)
}

// ratioOfMedians is median(a)/median(b): the samples of one
// sub-benchmark run one after another (see interleaved), so they pair
// with no sample of another.
func ratioOfMedians(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	return median(a) / median(b)
}

// include_ratio: frontend/rewrite's BenchmarkExpand, a Dockerfile that
// INCLUDEs 50 fragments against the same content written as one file
// (both through rewrite.Expand: the INCLUDE lines are comments in the
// one file), op against op (see interleaved).
func includeBench() []measure {
	const key = "include_ratio"
	count, benchtime := 7, "20x"
	if *smoke {
		count, benchtime = 1, "2x"
	}
	got, _, err := goBench("./frontend/rewrite", "^BenchmarkExpand$/^(50-fragments|one-file)$", benchtime, count, 3*time.Minute)
	if err != nil {
		return []measure{{Key: key, Value: errValue(err)}}
	}
	inc, one := got["BenchmarkExpand/50-fragments"], got["BenchmarkExpand/one-file"]
	if len(inc) == 0 || len(inc) != len(one) {
		return []measure{{Key: key, Value: errValue(fmt.Errorf("BenchmarkExpand: %d and %d samples", len(inc), len(one)))}}
	}
	d := map[string]any{"fragments_ns": inc, "one_file_ns": one, "sequential_ratio": round3(ratioOfMedians(inc, one))}
	details["include"] = d
	ratio, err := interleaved(d, "./frontend/rewrite", "BenchmarkExpand/pairs-interleaved", "interleaved")
	return []measure{{Key: key, Value: valueOr(ratio, err),
		Note: fmt.Sprintf("op against op; 50 fragments %.1f ms, one file %.1f ms (medians of runs of each)", median(inc)/1e6, median(one)/1e6)}}
}

// lspBench runs internal/lsp's BenchmarkDiagnostics: the time from a
// change of a 2,000-line extended Dockerfile to its diagnostics, published
// over the protocol (the whole pipeline, upstream's checks included),
// median of the samples, in milliseconds.
func lspBench() []measure {
	const key = "lsp_diagnostics_ms"
	count, benchtime := 7, "30x"
	if *smoke {
		count, benchtime = 1, "3x"
	}
	got, _, err := goBench("./internal/lsp", "^BenchmarkDiagnostics$", benchtime, count, 3*time.Minute)
	if err != nil {
		return []measure{{Key: key, Value: errValue(err)}}
	}
	ns := got["BenchmarkDiagnostics"]
	if len(ns) == 0 {
		return []measure{{Key: key, Value: errValue(fmt.Errorf("BenchmarkDiagnostics: no samples"))}}
	}
	details["lsp"] = map[string]any{"diagnostics_ns": ns}
	return []measure{{Key: key, Value: round3(median(ns) / 1e6),
		Note: fmt.Sprintf("2,000 lines, %d samples, fastest %.1f ms", len(ns), slices.Min(ns)/1e6)}}
}
