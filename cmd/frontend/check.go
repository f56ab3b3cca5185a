package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/org/stagefront/internal/offline"
)

// errCheckFailed is returned when check=error=true and a rule fired; the
// warnings are already printed.
type errCheckFailed struct{ msg string }

func (e *errCheckFailed) Error() string { return e.msg }

func runCheck(ctx context.Context, in *input, stdout io.Writer) error {
	checked, err := offline.Check(ctx, &in.Input)
	if err != nil {
		return err
	}
	lr, fail := checked.Lint, checked.Fail
	// As buildx prints it: the count, then the warnings.
	n := len(lr.Warnings)
	switch {
	case n == 1:
		fmt.Fprintln(stdout, "Check complete, 1 warning has been found!")
	case n > 1:
		fmt.Fprintf(stdout, "Check complete, %d warnings have been found!\n", n)
	}
	if err := lr.PrintTo(stdout, nil); err != nil {
		return err
	}
	if lr.Error != nil {
		var b strings.Builder
		lr.PrintErrorTo(&b, nil)
		return &errCheckFailed{strings.TrimRight(b.String(), "\n")}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "Check complete, no warnings found.")
	}
	if fail != nil {
		return &errCheckFailed{fail.Error()}
	}
	return nil
}

