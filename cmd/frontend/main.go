// Command frontend is stagefront: with no arguments it serves the BuildKit
// gateway API (BuildKit runs it from the `# syntax=org/stagefront` image);
// with arguments it is the `stagefront` CLI.
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
	"github.com/org/stagefront/frontend/builder"
)

func main() {
	if len(os.Args) > 1 || !underBuildKit() {
		os.Exit(runCLI(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), builder.Build); err != nil {
		fmt.Fprintf(os.Stderr, "stagefront: %v\n", err)
		os.Exit(1)
	}
}

// underBuildKit reports whether BuildKit started this process as a gateway
// frontend (it always passes the session and product in the environment).
func underBuildKit() bool {
	return os.Getenv("BUILDKIT_SESSION_ID") != "" || os.Getenv("BUILDKIT_EXPORTEDPRODUCT") != ""
}
