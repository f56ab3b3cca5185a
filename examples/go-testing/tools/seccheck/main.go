// seccheck is a small, offline stand-in for gosec: it parses every Go file
// under the given directories and fails when the code uses math/rand (not for
// secrets), crypto/md5 or crypto/sha1, or runs a shell with exec.Command.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var weakImports = map[string]string{
	"math/rand":    "math/rand is not a secure random source (use crypto/rand)",
	"math/rand/v2": "math/rand/v2 is not a secure random source (use crypto/rand)",
	"crypto/md5":   "MD5 is broken (use crypto/sha256)",
	"crypto/sha1":  "SHA-1 is broken (use crypto/sha256)",
}

func check(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	var issues []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if why, ok := weakImports[p]; ok {
			issues = append(issues, fmt.Sprintf("%s: %s", fset.Position(imp.Pos()), why))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Command" {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "exec" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok {
			if s, _ := strconv.Unquote(lit.Value); s == "sh" || s == "bash" || s == "/bin/sh" {
				issues = append(issues, fmt.Sprintf("%s: running a shell with exec.Command invites injection", fset.Position(call.Pos())))
			}
		}
		return true
	})
	return issues, nil
}

func main() {
	roots := os.Args[1:]
	if len(roots) == 0 {
		roots = []string{"."}
	}
	var all []string
	files := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "tools" || strings.HasPrefix(d.Name(), ".") && path != root) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			files++
			issues, err := check(path)
			all = append(all, issues...)
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "seccheck:", err)
			os.Exit(2)
		}
	}
	for _, i := range all {
		fmt.Println(i)
	}
	if len(all) > 0 {
		fmt.Printf("seccheck: %d issue(s) in %d file(s)\n", len(all), files)
		os.Exit(1)
	}
	fmt.Printf("seccheck: %d file(s), no issues\n", files)
}
