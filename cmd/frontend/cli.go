package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/org/stagefront/frontend/rewrite"
	"github.com/org/stagefront/internal/contextfs"
	"github.com/org/stagefront/internal/lsp"
	"github.com/org/stagefront/internal/offline"
	"github.com/org/stagefront/internal/version"
)

const usage = `stagefront — the extended Dockerfile frontend, offline.

Usage:
  stagefront rewrite [flags]   print the standard Dockerfile a build will convert
  stagefront outline [flags]   list the flags the conditions read, with docs and values
  stagefront check [flags]     run the build checks (BuildKit's and stagefront's) as --call=check does
  stagefront lsp               serve the Language Server Protocol on stdin and stdout, for editors
  stagefront version           print stagefront's version and channel, and the upstream Dockerfile frontend it embeds
  stagefront help [command]    show help

With no arguments the binary serves the BuildKit gateway API (BuildKit runs
it for '# syntax=org/stagefront').

Run 'stagefront COMMAND --help' for a command's flags.
`

// command is one CLI subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, in *input, stdout io.Writer) error
}

var commands = []command{
	{"rewrite", "print the rewritten, standard Dockerfile for the given build args and platform", runRewrite},
	{"outline", "list every flag the conditions on the target's path read: doc comment, default, value and the lines it guards", runOutline},
	{"check", "run BuildKit's build checks and stagefront's on the rewrite for the given build args and platform, offline, and print them as `docker buildx build --call=check` does", runCheck},
}

// runCLI runs the stagefront command line and returns the exit code.
func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return runCLI([]string{args[1], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	if args[0] == "lsp" {
		if len(args) > 1 && args[1] != "--stdio" {
			fmt.Fprint(stdout, "Usage: stagefront lsp [--stdio]\n\nServe the Language Server Protocol on standard input and output: diagnostics,\nhover, definitions, references, symbols, folding, completion and quick fixes\nfor extended Dockerfiles, offline. Settings (build args, target, platform,\nnamed contexts) come from the client: see editors/ in the repository.\n")
			return 0
		}
		if err := lsp.Serve(context.Background(), stdio{stdin, stdout}); err != nil {
			fmt.Fprintf(stderr, "stagefront lsp: %v\n", err)
			return 1
		}
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		if len(args) == 3 && args[1] == "--tags" {
			// The image tags of this version in a channel, for the
			// release scripts.
			fmt.Fprintln(stdout, strings.Join(version.Tags(args[2]), "\n"))
			return 0
		}
		printVersion(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		in, err := parseInput(c, args[1:], stdin, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "stagefront %s: %v\n", c.name, err)
			return 2
		}
		err = c.run(context.Background(), in, stdout)
		in.context.Close()
		if err != nil {
			var el *rewrite.ErrorList
			var cf *errCheckFailed
			switch {
			case errors.As(err, &el):
				fmt.Fprintln(stderr, el.Error())
			case errors.As(err, &cf), strings.HasPrefix(err.Error(), in.Filename+":"):
				// The message names the file and line already.
				fmt.Fprintln(stderr, err)
			default:
				fmt.Fprintf(stderr, "%s: %v\n", in.Filename, err)
			}
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "stagefront: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// stdio is the editor's end of a language server: its standard input
// and output.
type stdio struct {
	io.Reader
	io.Writer
}

func (stdio) Close() error { return nil }

// printVersion prints what `stagefront version` says: stagefront's own
// version and channel, then the upstream it embeds.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "stagefront %s (%s channel)\n", version.Version, version.Channel)
	fmt.Fprintf(w, "Dockerfile %s (upstream's docker/dockerfile, BuildKit %s)\n", version.Dockerfile(), version.BuildKit())
}

// input is what every command reads: the file and the build's values.
type input struct {
	offline.Input
	// context is the build context's view, closed after the command.
	context *contextfs.Dir
	// markers asks rewrite to mark where each file's lines start.
	markers bool
}

// maxFileSize is BuildKit's limit on a Dockerfile a build reads
// (dockerui.ReadFile: containerd's default gRPC message size).
const maxFileSize = 16 << 20

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func parseInput(c command, args []string, stdin io.Reader, stderr io.Writer) (*input, error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "Dockerfile", "the extended Dockerfile, or - for standard input")
	fs.StringVar(file, "file", "Dockerfile", "same as -f")
	var buildArgs multiFlag
	fs.Var(&buildArgs, "build-arg", "a build arg, `NAME=VALUE` (or NAME to take it from the environment); repeat for more")
	platform := fs.String("platform", "", "the target platform, `os/arch[/variant]` (default: this machine's)")
	target := fs.String("target", "", "the stage to build (default: the last live stage)")
	contextDir := fs.String("context", "", "the build context `DIR` that exists() looks in (default: the Dockerfile's directory)")
	var namedContexts multiFlag
	fs.Var(&namedContexts, "build-context", "a named context, `NAME=DIR`, that INCLUDE --from=NAME reads fragments from; repeat for more")
	markers := false
	if c.name == "rewrite" {
		fs.BoolVar(&markers, "markers", false, "mark where the lines of each file (the Dockerfile, the fragments it INCLUDEs) start, with `# FILE:LINE` lines")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: stagefront %s [flags]\n\n%s.\n\nFlags:\n", c.name, strings.ToUpper(c.summary[:1])+c.summary[1:])
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: the Dockerfile is given with -f", fs.Arg(0))
	}
	in := &input{Input: offline.Input{Filename: *file}, markers: markers}
	var err error
	var src io.Reader = stdin
	if *file == "-" {
		in.Filename = "Dockerfile"
	} else {
		f, err := os.Open(*file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src = f
	}
	// A build reads at most maxFileSize bytes of a Dockerfile (BuildKit's
	// own limit, one gRPC message): the CLI holds files to the same.
	if in.Data, err = io.ReadAll(io.LimitReader(src, maxFileSize+1)); err != nil {
		return nil, err
	}
	if len(in.Data) > maxFileSize {
		return nil, fmt.Errorf("%s exceeds maximum allowed size of %d bytes (the most BuildKit reads of a Dockerfile)", in.Filename, maxFileSize)
	}
	in.Options = rewrite.Options{Filename: in.Filename, Target: *target, BuildArgs: map[string]string{}}
	for _, a := range buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		in.Options.BuildArgs[k] = v
	}
	in.Options.BuildPlatform = platforms.Normalize(platforms.DefaultSpec())
	in.Options.TargetPlatform = in.Options.BuildPlatform
	if *platform != "" {
		p, err := platforms.Parse(*platform)
		if err != nil {
			return nil, fmt.Errorf("--platform: %w", err)
		}
		in.Options.TargetPlatform = platforms.Normalize(p)
	}
	dir := *contextDir
	if dir == "" {
		dir = "."
		if *file != "-" {
			dir = filepath.Dir(*file)
		}
	}
	in.ContextDir = dir
	// Fragments are read beside the Dockerfile; a Dockerfile from standard
	// input has no directory, and reads them from the build context's
	// root, as a build of `docker build -f - DIR` does.
	fragDir := dir
	if *file != "-" {
		fragDir = filepath.Dir(*file)
	}
	named := map[string]string{}
	for _, nc := range namedContexts {
		name, d, ok := strings.Cut(nc, "=")
		if !ok || name == "" || d == "" {
			return nil, fmt.Errorf("--build-context %s: write NAME=DIR", nc)
		}
		named[name] = d
	}
	in.Fragments = offline.NewFragments(fragDir, named, *file == "-")
	d, err := contextfs.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the context %s: %w", dir, err)
	}
	in.context = d
	in.Options.Context = contextfs.NewContext(d)
	return in, nil
}

func runRewrite(ctx context.Context, in *input, stdout io.Writer) error {
	in.Options.Annotate = true
	res, err := in.Rewrite(ctx, in.Options)
	if err != nil {
		return err
	}
	if !in.markers || res.Sources == nil {
		_, err = stdout.Write(res.Dockerfile)
		return err
	}
	// A marker before each run of lines of one file.
	var b strings.Builder
	last := -1
	for i, l := range strings.SplitAfter(string(res.Dockerfile), "\n") {
		if l == "" {
			continue
		}
		file, line := res.Sources.Position(i + 1)
		if file != last || line == 1 {
			fmt.Fprintf(&b, "# %s:%d\n", res.Sources.Files[file].Name, line)
			last = file
		}
		b.WriteString(l)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func runOutline(ctx context.Context, in *input, stdout io.Writer) error {
	opt := in.Options
	opt.ListFlags = true
	res, err := in.Rewrite(ctx, opt)
	if err != nil {
		return err
	}
	if len(res.Flags) == 0 {
		fmt.Fprintln(stdout, "No conditions on the target's path read any flag.")
	}
	for _, f := range res.Flags {
		fmt.Fprintf(stdout, "%s\n", f.Name)
		if f.Doc != "" {
			fmt.Fprintf(stdout, "  %s\n", f.Doc)
		}
		switch {
		case f.Automatic:
			fmt.Fprintf(stdout, "  automatic platform ARG\n")
		case f.Line > 0:
			fmt.Fprintf(stdout, "  declared: %s, default %q\n", res.LineRef(f.Line), f.Default)
		}
		if f.Defined {
			fmt.Fprintf(stdout, "  value:    %q\n", f.Value)
		} else {
			fmt.Fprintf(stdout, "  value:    (unset)\n")
		}
		fmt.Fprintf(stdout, "  guards:   %s\n", joinRanges(res, f.Guards))
	}
	var conditional []rewrite.Stage
	for _, s := range res.Stages {
		if len(s.Conditions) > 0 || len(s.Requires) > 0 {
			conditional = append(conditional, s)
		}
	}
	if len(conditional) > 0 {
		fmt.Fprintln(stdout, "\nStages:")
	}
	for _, s := range conditional {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("stage %d", s.Index)
		}
		state := "live"
		if !s.Live {
			state = "off: " + s.OffBy
		}
		fmt.Fprintf(stdout, "  %s (%s): %s\n", name, res.LineRef(s.Line), state)
		if len(s.Conditions) > 0 {
			fmt.Fprintf(stdout, "    when: %s\n", strings.Join(s.Conditions, " and "))
		}
		if len(s.Requires) > 0 {
			var names []string
			for _, r := range s.Requires {
				names = append(names, r.Stage)
			}
			sort.Strings(names)
			fmt.Fprintf(stdout, "    requires: %s\n", strings.Join(names, ", "))
		}
	}
	return nil
}

func joinRanges(res *rewrite.Result, ranges []rewrite.LineRange) string {
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		from, to := res.LineRef(r.From), res.LineRef(r.To)
		switch {
		case r.From == r.To:
			parts[i] = from
		case res.Sources == nil:
			parts[i] = fmt.Sprintf("lines %d-%d", r.From, r.To)
		default:
			parts[i] = from + " to " + to
		}
	}
	return strings.Join(parts, ", ")
}
