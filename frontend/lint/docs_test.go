package lint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/org/stagefront/frontend/lint/internal/docgen"
)

// TestDocsUpToDate fails when docs/rules is not what `go generate
// ./frontend/lint` writes from the rule declarations.
func TestDocsUpToDate(t *testing.T) {
	pages, err := docgen.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "rules")
	for name, want := range pages {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("docs/rules/%s is stale or missing: run go generate ./frontend/lint", name)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, f := range files {
		if _, ok := pages[filepath.Base(f)]; !ok {
			t.Errorf("docs/rules/%s documents no rule: run go generate ./frontend/lint", filepath.Base(f))
		}
	}
}

// TestRulesDeclared: every rule the generator sees is in Rules, with the
// same name, description and URL, and the other way round.
func TestRulesDeclared(t *testing.T) {
	declared, err := docgen.ListRules("ruleset.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) != len(Rules) {
		t.Fatalf("ruleset.go declares %d rules, Rules lists %d", len(declared), len(Rules))
	}
	for i, d := range declared {
		if Rules[i].RuleName() != d.Name {
			t.Errorf("Rules[%d] is %s, want %s (declaration order)", i, Rules[i].RuleName(), d.Name)
		}
	}
}
