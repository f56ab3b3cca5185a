// Command checkrelease checks what hack/release pushed to the local
// registry (see package release).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/org/stagefront/internal/registry"
	"github.com/org/stagefront/internal/release"
	"github.com/org/stagefront/internal/version"
)

func main() {
	host := flag.String("registry", "127.0.0.1:5000", "the registry, host:port")
	repo := flag.String("repo", "org/stagefront", "the repository")
	flag.Parse()
	if err := release.Check(context.Background(), registry.Client{Host: *host}, *repo); err != nil {
		fmt.Fprintf(os.Stderr, "checkrelease: the release of stagefront %s is not whole:\n%v\n", version.Version, err)
		os.Exit(1)
	}
	fmt.Printf("stagefront %s: %d tags, %v each, with provenance and SBOM attestations\n", version.Version,
		len(version.Tags("mainline"))+len(version.Tags("labs")), release.Platforms)
}
