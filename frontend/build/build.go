// Package build is stagefront's gateway frontend: BuildKit's Dockerfile
// orchestration, converting the rewrite of the extended file per platform.
package build

import (
	"context"
	"errors"

	"github.com/moby/buildkit/frontend/gateway/client"
)

// Build is the gateway BuildFunc served by the frontend image.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	return nil, errors.New("build: not implemented yet")
}
