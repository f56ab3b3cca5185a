// sitemap prints a sitemap.xml for the .html files under a directory.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sitemap DIR BASE-URL")
		os.Exit(2)
	}
	dir, base := os.Args[1], strings.TrimSuffix(os.Args[2], "/")
	fmt.Println(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Println(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Printf("  <url><loc>%s/%s</loc></url>\n", base, filepath.ToSlash(rel))
		return nil
	})
	fmt.Println(`</urlset>`)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
