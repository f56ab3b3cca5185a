// Command gen writes docs/rules from the rule declarations of
// frontend/lint (run by `go generate ./frontend/lint`).
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/org/stagefront/frontend/lint/internal/docgen"
)

func main() {
	src := flag.String("src", ".", "the frontend/lint directory")
	dest := flag.String("dest", "../../docs/rules", "the directory to write the pages to")
	flag.Parse()
	pages, err := docgen.Generate(*src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*dest, 0o755); err != nil {
		log.Fatal(err)
	}
	// Pages of rules that no longer exist go away.
	old, _ := filepath.Glob(filepath.Join(*dest, "*.md"))
	for _, f := range old {
		if _, ok := pages[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				log.Fatal(err)
			}
		}
	}
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*dest, n), pages[n], 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("wrote %d pages to %s: %s", len(names), *dest, strings.Join(names, " "))
}
