package lint

import (
	"strings"

	"github.com/org/stagefront/frontend/conditions"
)

// Closest returns the candidate that name most likely misspells, or "":
// conditions.Closest, with a swap of neighbouring letters counted as one
// edit.
func Closest(name string, candidates []string) string { return closestStage(name, candidates) }

// closestStage returns the stage name ref most likely misspells, or "".
// It asks conditions.Closest (what the engine suggests) first, then
// counts a swap of two neighbouring letters as one edit (biulder,
// dpes), the commonest typo, which plain edit distance counts as two.
func closestStage(ref string, candidates []string) string {
	if s := conditions.Closest(ref, candidates); s != "" {
		return s
	}
	limit := max(1, len(ref)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if strings.EqualFold(c, ref) {
			continue
		}
		if d := osaDistance(strings.ToLower(ref), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// osaDistance is the optimal string alignment distance: Levenshtein plus
// transpositions of adjacent bytes.
func osaDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
