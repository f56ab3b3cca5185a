package rewrite

import (
	"context"
	"errors"
)

// Rewrite turns the extended Dockerfile dt into a standard one for the
// platform and values in opt. On bad input it returns an ErrorList.
func Rewrite(ctx context.Context, dt []byte, opt Options) (*Result, error) {
	// Being written: the engine (issue 2) lands here.
	return nil, errors.New("rewrite: not implemented yet")
}
