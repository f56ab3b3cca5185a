// server says which platform it was built for and which config it reads.
package main

import (
	"fmt"
	"os"
	"runtime"
)

// platform is set at build time with -ldflags "-X main.platform=...".
var platform = "unknown"

func main() {
	cfg, err := os.ReadFile("/app/server.conf")
	if err != nil {
		cfg = []byte("(no config)\n")
	}
	fmt.Printf("built for %s, running on %s/%s\nconfig: %s", platform, runtime.GOOS, runtime.GOARCH, cfg)
}
