// Command syft-scanner is a BuildKit SBOM generator built on the syft library.
//
// It implements BuildKit's SBOM scanner protocol: BuildKit runs the scanner
// image with the file system to scan mounted read-only at
// $BUILDKIT_SCAN_SOURCE, optional extra sources (build context, intermediate
// stages) as subdirectories of $BUILDKIT_SCAN_SOURCE_EXTRAS, and an empty
// output directory at $BUILDKIT_SCAN_DESTINATION. For every source the
// scanner writes one in-toto statement whose predicate is an SPDX 2.3 JSON
// document: sbom.spdx.json for the core source and <subdir>.spdx.json for each
// extra one.
//
// Sources are scanned as directories (never as images) with syft's image
// catalogers, and every cataloger option that could reach the network is
// off. BUILDKIT_SCAN_SELECT_CATALOGERS (set with
// attest:sbom=SELECT_CATALOGERS=...) refines the catalogers with syft's
// --select-catalogers expressions ("-rpm", "+go-module-file-cataloger", ...).
// LOG_LEVEL (error, warn, info, debug, trace; default warn) sets how much of
// syft's log reaches stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/anchore/go-logger"
	alogrus "github.com/anchore/go-logger/adapter/logrus"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"

	// syft reads newer RPM databases (Fedora, RHEL 9+) through database/sql
	// and needs a registered "sqlite" driver; modernc's needs no cgo.
	_ "modernc.org/sqlite"
)

// Environment of BuildKit's SBOM scanner protocol.
const (
	envSource           = "BUILDKIT_SCAN_SOURCE"
	envSourceExtras     = "BUILDKIT_SCAN_SOURCE_EXTRAS"
	envDestination      = "BUILDKIT_SCAN_DESTINATION"
	envSelectCatalogers = "BUILDKIT_SCAN_SELECT_CATALOGERS"
	envLogLevel         = "LOG_LEVEL"
)

// coreName is the name BuildKit gives the core SBOM (result.AttestationSBOMCore);
// it recognizes the core statement by this file name prefix.
const coreName = "sbom"

// Statement header values of the in-toto statements BuildKit unbundles.
const (
	statementType = "https://in-toto.io/Statement/v0.1"
	predicateSPDX = "https://spdx.dev/Document"
)

func main() {
	if err := setupLogging(os.Getenv(envLogLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "syft-scanner: %v\n", err)
		os.Exit(2)
	}
	if err := run(context.Background(), os.LookupEnv); err != nil {
		fmt.Fprintf(os.Stderr, "syft-scanner: %v\n", err)
		os.Exit(1)
	}
}

// target is one file system to scan and the name of its SBOM file.
type target struct {
	name string // output file is <name>.spdx.json
	path string
}

// run scans the sources named by the environment (looked up with lookupEnv)
// and writes their statements to the destination directory.
func run(ctx context.Context, lookupEnv func(string) (string, bool)) error {
	dest, err := dirFromEnv(lookupEnv, envDestination, true)
	if err != nil {
		return err
	}
	core, err := dirFromEnv(lookupEnv, envSource, true)
	if err != nil {
		return err
	}
	targets := []target{{name: coreName, path: core}}

	extras, err := dirFromEnv(lookupEnv, envSourceExtras, false)
	if err != nil {
		return err
	}
	if extras != "" {
		entries, err := os.ReadDir(extras)
		if err != nil {
			return fmt.Errorf("reading %s: %w", envSourceExtras, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if e.Name() == coreName {
				return fmt.Errorf("extra source %q would overwrite the core SBOM", e.Name())
			}
			targets = append(targets, target{name: e.Name(), path: filepath.Join(extras, e.Name())})
		}
	}

	var selectExpr []string
	if v, ok := lookupEnv(envSelectCatalogers); ok && strings.TrimSpace(v) != "" {
		selectExpr = strings.Split(v, ",")
	}

	// syft extracts archives (jars, wheels, ...) under the temporary directory;
	// BuildKit mounts a tmpfs on /tmp, make sure it exists when run elsewhere.
	if err := os.MkdirAll(os.TempDir(), 0o1777); err != nil {
		return fmt.Errorf("creating temporary directory: %w", err)
	}

	for _, t := range targets {
		if err := scanTo(ctx, t, selectExpr, filepath.Join(dest, t.name+".spdx.json")); err != nil {
			return fmt.Errorf("scanning %s (%s): %w", t.name, t.path, err)
		}
	}
	return nil
}

// dirFromEnv returns the directory named by the environment variable env;
// a missing optional variable yields "".
func dirFromEnv(lookupEnv func(string) (string, bool), env string, required bool) (string, error) {
	p, ok := lookupEnv(env)
	if !ok || p == "" {
		if required {
			return "", fmt.Errorf("%s is not set", env)
		}
		return "", nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", env, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s: %s is not a directory", env, p)
	}
	return p, nil
}

// scanTo scans t and writes its SPDX statement to out.
func scanTo(ctx context.Context, t target, selectExpr []string, out string) error {
	// The source is named after its mount point's base name ("sbom",
	// "sbom-context", ...), as upstream's buildkit-syft-scanner does. Base
	// makes absolute symlinks resolve inside the scanned root file system.
	src, err := directorysource.New(directorysource.Config{
		Path:  t.path,
		Base:  t.path,
		Alias: source.Alias{Name: sourceName(t.path)},
	})
	if err != nil {
		return err
	}

	sel := pkgcataloging.NewSelectionRequest().
		WithDefaults(pkgcataloging.ImageTag, filecataloging.FileTag).
		WithAdditions("sbom-cataloger").
		WithExpression(selectExpr...)

	pkgs := pkgcataloging.DefaultConfig()
	pkgs.Golang = pkgs.Golang.
		WithSearchRemoteLicenses(false).
		WithSearchLocalModCacheLicenses(false).
		WithUsePackagesLib(false) // it runs the go tool, which may download
	pkgs.JavaArchive = pkgs.JavaArchive.
		WithUseNetwork(false).
		WithUseMavenLocalRepository(false)
	pkgs.JavaScript = pkgs.JavaScript.WithSearchRemoteLicenses(false)
	pkgs.Python = pkgs.Python.WithSearchRemoteLicenses(false)

	cfg := syft.DefaultCreateSBOMConfig().
		WithCatalogerSelection(sel).
		WithPackagesConfig(pkgs)

	s, err := syft.CreateSBOM(ctx, src, cfg)
	if err != nil {
		return err
	}

	enc, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	if err := enc.Encode(&doc, *s); err != nil {
		return fmt.Errorf("encoding SPDX: %w", err)
	}

	stmt := struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Subject       []struct{}      `json:"subject"` // BuildKit fills in the image
		Predicate     json.RawMessage `json:"predicate"`
	}{statementType, predicateSPDX, []struct{}{}, doc.Bytes()}

	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = json.NewEncoder(f).Encode(stmt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// sourceName is the SBOM's source name for the directory p.
func sourceName(p string) string {
	name := filepath.Base(filepath.Clean(p))
	if name == string(filepath.Separator) || name == "." {
		return coreName
	}
	return name
}

// setupLogging sends syft's log at the given level (default warn) to stderr.
func setupLogging(level string) error {
	if level == "" {
		level = "warn"
	}
	lvl, err := logger.LevelFromString(level)
	if err != nil || lvl == logger.DisabledLevel {
		return fmt.Errorf("invalid %s %q (want error, warn, info, debug or trace)", envLogLevel, level)
	}
	l, err := alogrus.New(alogrus.Config{EnableConsole: true, Level: lvl})
	if err != nil {
		return err
	}
	syft.SetLogger(l)
	return nil
}
