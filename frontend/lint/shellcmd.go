package lint

import (
	"path"
	"strings"
)

// install is one package-manager command found in a RUN.
type install struct {
	// Text is the command as found, as in "npm ci" or "apt-get install".
	Text string
	// Manager names the package manager (npm, pip, go, apt, apk, ...).
	Manager string
	// Packages are the package arguments, for system package managers.
	Packages []string
}

// cacheTargets is where each manager keeps what a cache mount should keep.
var cacheTargets = map[string]string{
	"npm":  "/root/.npm",
	"yarn": "/usr/local/share/.cache/yarn",
	"pnpm": "/root/.local/share/pnpm/store",
	"pip":  "/root/.cache/pip",
	"go":   "/go/pkg/mod",
	"apt":  "/var/cache/apt",
	"apk":  "/var/cache/apk",
	"dnf":  "/var/cache/dnf",
	"yum":  "/var/cache/yum",
}

// buildTools are the packages that only building needs.
var buildTools = map[string]bool{
	"gcc": true, "g++": true, "make": true, "build-base": true, "build-essential": true,
	"clang": true, "cmake": true, "gcc-c++": true,
}

// findInstalls returns the package-manager installs in a shell script,
// one per simple command (split at ;, &&, ||, |, & and newlines).
func findInstalls(script string) []install {
	if !mayInstall(script) {
		return nil
	}
	var out []install
	for _, words := range simpleCommands(script) {
		if in, ok := classify(words); ok {
			out = append(out, in)
		}
	}
	return out
}

// managerNames holds a piece of the name of every command classify
// recognises (pnpm holds npm, microdnf dnf, pip3 and python -m pip pip).
var managerNames = []string{"npm", "yarn", "pip", "go", "apt", "apk", "dnf", "yum"}

// mayInstall reports whether script may hold a command classify
// recognises, without splitting it into words: false only when none of
// managerNames is in it and it has no quote or backslash, which could
// make a name of pieces (a"p"t-get is apt-get). Most RUNs install
// nothing.
func mayInstall(script string) bool {
	if strings.ContainsAny(script, "'\"\\") {
		return true
	}
	for _, n := range managerNames {
		if strings.Contains(script, n) {
			return true
		}
	}
	return false
}

// simpleCommands splits a script into simple commands of words, with
// quotes removed. It is a tokenizer, not a shell: good enough to find
// `apt-get install -y gcc` in `set -e; apt-get update && apt-get install -y gcc`.
func simpleCommands(script string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	var quote byte
	for i := 0; i < len(script); i++ {
		c := script[i]
		if quote != 0 {
			if c == quote {
				quote = 0
				continue
			}
			if c == '\\' && quote == '"' && i+1 < len(script) {
				i++
				c = script[i]
			}
			cur.WriteByte(c)
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
			inWord = true
		case '\\':
			if i+1 < len(script) {
				i++
				if script[i] != '\n' {
					cur.WriteByte(script[i])
					inWord = true
				} else {
					flushWord()
				}
			}
		case ' ', '\t', '\r':
			flushWord()
		case '\n', ';', '&', '|', '(', ')', '{', '}':
			flushCmd()
		case '#':
			if !inWord {
				for i < len(script) && script[i] != '\n' {
					i++
				}
				flushCmd()
				continue
			}
			cur.WriteByte(c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

// classify recognises an install command.
func classify(words []string) (install, bool) {
	// Skip environment assignments and wrappers.
	for len(words) > 0 {
		w := words[0]
		if w == "sudo" || w == "exec" || w == "time" || w == "env" || w == "then" || w == "do" || w == "else" || (strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "=")) {
			words = words[1:]
			continue
		}
		break
	}
	if len(words) == 0 {
		return install{}, false
	}
	cmd := path.Base(words[0])
	args := words[1:]
	if (strings.HasPrefix(cmd, "python") && len(args) >= 2 && args[0] == "-m") && strings.HasPrefix(args[1], "pip") {
		cmd, args = "pip", args[2:]
	}
	verb, rest := firstNonFlag(args)
	switch {
	case cmd == "npm" && (verb == "ci" || verb == "install" || verb == "i" || verb == "add"):
		return install{Text: "npm " + verb, Manager: "npm"}, true
	case cmd == "yarn" && (verb == "" || verb == "install"):
		return install{Text: strings.TrimSpace("yarn " + verb), Manager: "yarn"}, true
	case cmd == "pnpm" && (verb == "install" || verb == "i"):
		return install{Text: "pnpm " + verb, Manager: "pnpm"}, true
	case (cmd == "pip" || cmd == "pip3") && verb == "install":
		return install{Text: cmd + " install", Manager: "pip"}, true
	case cmd == "go" && verb == "mod":
		if v, _ := firstNonFlag(rest); v == "download" {
			return install{Text: "go mod download", Manager: "go"}, true
		}
	case (cmd == "apt-get" || cmd == "apt") && verb == "install":
		return install{Text: cmd + " install", Manager: "apt", Packages: packages(rest)}, true
	case cmd == "apk" && verb == "add":
		return install{Text: "apk add", Manager: "apk", Packages: packages(rest)}, true
	case (cmd == "dnf" || cmd == "microdnf") && verb == "install":
		return install{Text: cmd + " install", Manager: "dnf", Packages: packages(rest)}, true
	case cmd == "yum" && verb == "install":
		return install{Text: "yum install", Manager: "yum", Packages: packages(rest)}, true
	}
	return install{}, false
}

// firstNonFlag returns the first word that is not a flag, and the words
// after it. Flags that take a separate value are not known; a value
// that looks like a verb would be taken for it, which is harmless here.
func firstNonFlag(words []string) (string, []string) {
	for i, w := range words {
		if !strings.HasPrefix(w, "-") {
			return w, words[i+1:]
		}
	}
	return "", nil
}

// packages returns the package names among words (flags and version pins
// removed: gcc=12.2 and gcc~12 are gcc).
func packages(words []string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, "-") || w == "" {
			continue
		}
		if i := strings.IndexAny(w, "=~<>"); i > 0 {
			w = w[:i]
		}
		out = append(out, w)
	}
	return out
}
