package main

import (
	"fmt"
	"io"
)

// runCLI runs the stagefront command line and returns the exit code.
func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "stagefront: CLI being written")
	return 2
}
