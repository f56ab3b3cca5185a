// Command worker sums the numbers it is given, one job at a time.
package main

import (
	"fmt"
	"os"
	"strconv"
)

// sum adds the numbers of a job; a word that is no number is an error.
func sum(words []string) (int, error) {
	total := 0
	for _, w := range words {
		n, err := strconv.Atoi(w)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", w)
		}
		total += n
	}
	return total, nil
}

func main() {
	total, err := sum(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(total)
}
