package bkharness

import (
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitServer serves git repositories over HTTP on 127.0.0.1 (git's smart
// HTTP protocol, through git http-backend), for builds that read git
// sources: ADD of a repository, a git build context, a named context.
// Each repository is made of files (path -> content) committed on branch
// main and tagged v1, and is served at <url>/<name>.git. The server stops
// when the test ends.
func GitServer(t testing.TB, repos map[string]map[string]string) (url string) {
	t.Helper()
	root := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=stagefront", "GIT_AUTHOR_EMAIL=test@stagefront.invalid",
			"GIT_COMMITTER_NAME=stagefront", "GIT_COMMITTER_EMAIL=test@stagefront.invalid", "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for name, files := range repos {
		work := filepath.Join(root, "work", name)
		WriteFiles(t, work, files)
		git(work, "init", "-q", "-b", "main")
		git(work, "add", "-A")
		git(work, "commit", "-q", "-m", "files of "+name)
		git(work, "tag", "v1")
		git(root, "clone", "-q", "--bare", work, filepath.Join(root, "served", name+".git"))
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	h := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Join(root, "served"), "GIT_HTTP_EXPORT_ALL=1"},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
