// Command follows lists the files of BuildKit that stagefront's files
// follow (see package upstream), and for a bump, what changed in them.
//
//	go run ./internal/upstream/cmd/follows            # list them
//	go run ./internal/upstream/cmd/follows -to v0.36.0
//
// With -to, each upstream file is compared between the version its header
// names and the new one: an unchanged file gets its headers moved to the
// new version; a changed one has its diff printed and keeps its headers,
// for the porter to move once the change is ported (the package's test
// fails until then).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/org/stagefront/internal/upstream"
)

func main() {
	to := flag.String("to", "", "the BuildKit version to compare the followed files with (and move unchanged headers to)")
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	if err := run(*root, *to); err != nil {
		fmt.Fprintln(os.Stderr, "follows:", err)
		os.Exit(1)
	}
}

func run(root, to string) error {
	follows, err := upstream.Scan(root)
	if err != nil {
		return err
	}
	if to == "" {
		for _, f := range follows {
			fmt.Println(f)
		}
		return nil
	}
	newDir, err := upstream.ModuleDir(root, to)
	if err != nil {
		return err
	}
	type key struct{ version, path string }
	changed := map[key]bool{}
	var toPort []string
	for _, f := range follows {
		k := key{f.Version, f.Path}
		if f.Version == to {
			continue
		}
		isChanged, seen := changed[k]
		if !seen {
			oldDir, err := upstream.ModuleDir(root, f.Version)
			if err != nil {
				return err
			}
			if isChanged, err = printDiff(oldDir, newDir, f.Version, to, f.Path); err != nil {
				return err
			}
			changed[k] = isChanged
		}
		if isChanged {
			toPort = append(toPort, f.String())
			continue
		}
		if err := upstream.SetVersion(root, f, to); err != nil {
			return err
		}
		fmt.Printf("unchanged in %s: %s (header moved to %s)\n", to, f.Path, to)
	}
	if len(toPort) == 0 {
		fmt.Printf("\nnothing to port: every followed file is the same in %s\n", to)
		return nil
	}
	slices.Sort(toPort)
	fmt.Printf("\nto port (read the diffs above, change our code, then move each header to %s):\n", to)
	for _, p := range toPort {
		fmt.Println("  " + p)
	}
	return nil
}

// printDiff prints the unified diff of path between two module trees and
// reports whether they differ.
func printDiff(oldDir, newDir, oldVersion, newVersion, path string) (bool, error) {
	a, b := filepath.Join(oldDir, path), filepath.Join(newDir, path)
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	switch {
	case errA != nil:
		return false, errA
	case errB != nil:
		fmt.Printf("=== %s: gone in %s (%v)\n", path, newVersion, errB)
		return true, nil
	case bytes.Equal(da, db):
		return false, nil
	}
	cmd := exec.Command("diff", "-u", "--label", path+"@"+oldVersion, "--label", path+"@"+newVersion, a, b)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	fmt.Printf("=== %s: changed from %s to %s\n", path, oldVersion, newVersion)
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			return true, err
		}
	}
	return true, nil
}
