package lsp

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Settings are the build a workspace's Dockerfiles are analysed for, from
// initializationOptions or workspace/didChangeConfiguration (as they are,
// or under a "stagefront" key):
//
//	{"buildArgs": {"DOCS": "true"}, "target": "production",
//	 "platform": "linux/arm64", "context": ".",
//	 "contexts": {"fragments": "../shared"}, "debounceMs": 150}
//
// Directories are relative to the workspace's root.
type Settings struct {
	// BuildArgs are the build args (--build-arg).
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	// Target is the stage to build (--target); "" the last.
	Target string `json:"target,omitempty"`
	// Platform is the target platform (--platform); "" this machine's.
	Platform string `json:"platform,omitempty"`
	// Context is the build context directory that exists() reads; ""
	// the Dockerfile's directory.
	Context string `json:"context,omitempty"`
	// Contexts are the named contexts' directories (--build-context
	// NAME=DIR), for INCLUDE --from=NAME.
	Contexts map[string]string `json:"contexts,omitempty"`
	// DebounceMs is how long a burst of changes waits before its
	// diagnostics (default 150; the first change after a pause is not
	// delayed).
	DebounceMs *int `json:"debounceMs,omitempty"`
}

// defaultDebounce is the debounce of Settings.DebounceMs unset.
const defaultDebounce = 150 * time.Millisecond

// parseSettings reads settings from what a client sent: the object
// itself, or one under "stagefront"; nothing is no settings.
func parseSettings(raw json.RawMessage) (Settings, error) {
	var s Settings
	if t := strings.TrimSpace(string(raw)); t == "" || t == "null" || t == "[]" || t == "{}" {
		return s, nil // none (an empty Lua table is sent as [])
	}
	var wrapped map[string]json.RawMessage
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return Settings{}, fmt.Errorf("stagefront settings: %w", err)
	}
	if inner, ok := wrapped["stagefront"]; ok {
		raw = inner
		if string(raw) == "null" {
			return s, nil
		}
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("stagefront settings: %w", err)
	}
	if s.Platform != "" {
		if _, err := platforms.Parse(s.Platform); err != nil {
			return Settings{}, fmt.Errorf("stagefront settings: platform: %w", err)
		}
	}
	return s, nil
}

func (s Settings) debounce() time.Duration {
	if s.DebounceMs == nil {
		return defaultDebounce
	}
	return time.Duration(max(*s.DebounceMs, 0)) * time.Millisecond
}

func (s Settings) platform() ocispecs.Platform {
	if s.Platform == "" {
		return platforms.Normalize(platforms.DefaultSpec())
	}
	p, _ := platforms.Parse(s.Platform) // checked by parseSettings
	return platforms.Normalize(p)
}

// dir resolves a directory of the settings against the workspace root.
func dir(root, d string) string {
	if d == "" || filepath.IsAbs(d) || root == "" {
		return d
	}
	return filepath.Join(root, d)
}
