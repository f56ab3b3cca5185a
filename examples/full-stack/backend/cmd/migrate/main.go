// migrate is the example's stand-in for flyway: it reads versioned SQL files
// (V<n>__<description>.sql), checks that the versions run 1, 2, 3... without
// gaps or duplicates and that every file ends its last statement, then
// prints the plan. With -check it only checks.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var name = regexp.MustCompile(`^V([0-9]+)__([A-Za-z0-9_]+)\.sql$`)

type migration struct {
	version int
	desc    string
	file    string
}

func load(dir string) ([]migration, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m := name.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%s: name must be V<version>__<description>.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(strings.TrimSpace(string(body)), ";") {
			return nil, fmt.Errorf("%s: the last statement has no closing ';'", e.Name())
		}
		ms = append(ms, migration{v, strings.ReplaceAll(m[2], "_", " "), e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("%s: expected version %d (versions must run 1, 2, 3... without gaps or duplicates)", m.file, i+1)
		}
	}
	return ms, nil
}

func main() {
	check := flag.Bool("check", false, "only check the migrations")
	flag.Parse()
	dir := flag.Arg(0)
	if dir == "" {
		dir = "/flyway/sql"
	}
	ms, err := load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	if *check {
		fmt.Printf("migrate: %d migrations OK\n", len(ms))
		return
	}
	for _, m := range ms {
		fmt.Printf("V%d  %-30s %s\n", m.version, m.desc, m.file)
	}
}
