package suite

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Source is what the suite's source says of itself: its test functions
// and the keys of its test matrix.
type Source struct {
	// Funcs are the test functions of every integration.TestFuncs list,
	// as the suite names its tests (TestFoo), sorted; Lists the same by
	// the variable each list is assigned to ("" for the lists appended
	// in init functions of tagged files).
	Funcs []string
	Lists map[string][]string
	// MatrixKeys are the keys of the instance names' matrix
	// (worker=oci/frontend=gateway/...), "worker" included.
	MatrixKeys []string
}

// ReadSource parses the Go files of pkgDir that a build with tags (on
// Linux) compiles, as the compiled suite has them.
func ReadSource(pkgDir string, tags []string) (*Source, error) {
	bctx := build.Default
	bctx.GOOS, bctx.GOARCH = "linux", runtime.GOARCH
	bctx.BuildTags = tags
	entries, err := os.ReadDir(pkgDir)
	if err != nil {
		return nil, err
	}
	src := &Source{Lists: map[string][]string{}}
	keys := map[string]bool{"worker": true}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		if ok, err := bctx.MatchFile(pkgDir, e.Name()); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(pkgDir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		// The TestFuncs lists assigned to a variable, by call.
		named := map[*ast.CallExpr]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, v := range vs.Values {
					if c, ok := v.(*ast.CallExpr); ok && i < len(vs.Names) {
						named[c] = vs.Names[i].Name
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch callName(c) {
			case "integration.TestFuncs":
				list := named[c]
				for _, a := range c.Args {
					if id, ok := a.(*ast.Ident); ok {
						src.Lists[list] = append(src.Lists[list], testName(id.Name))
					}
				}
			case "integration.WithMatrix":
				if len(c.Args) > 0 {
					if lit, ok := c.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if k, err := strconv.Unquote(lit.Value); err == nil {
							keys[k] = true
						}
					}
				}
			}
			return true
		})
	}
	for _, l := range src.Lists {
		src.Funcs = append(src.Funcs, l...)
	}
	slices.Sort(src.Funcs)
	src.Funcs = slices.Compact(src.Funcs)
	for k := range keys {
		src.MatrixKeys = append(src.MatrixKeys, k)
	}
	slices.Sort(src.MatrixKeys)
	return src, nil
}

// FuncsOf returns the test functions of the named lists, sorted.
func (s *Source) FuncsOf(lists ...string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, s.Lists[l]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// callName renders the function a call calls, as "pkg.Func" or "Func".
func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	case *ast.Ident:
		return f.Name
	}
	return ""
}

// testName is the name the suite runs a test function under: the
// function's name with its first letter upper-cased.
func testName(fn string) string {
	r := []rune(fn)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// IsInstance reports whether a test name below TestIntegration
// ("TestFoo/worker=oci/frontend=gateway") is an instance of a test
// function (every part after the function is a matrix key=value), not a
// sub-test the test runs itself.
func (s *Source) IsInstance(name string) bool {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts[1:] {
		k, _, ok := strings.Cut(p, "=")
		if !ok || !slices.Contains(s.MatrixKeys, k) {
			return false
		}
	}
	return true
}
