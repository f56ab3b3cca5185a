package conditions

import "strings"

// Closest returns the candidate nearest to name (by edit distance, ignoring
// case) when it is near enough to be a likely typo, or "".
func Closest(name string, candidates []string) string { return closest(name, candidates) }

func closest(name string, candidates []string) string {
	best, bestDist := "", -1
	limit := max(1, len(name)/3)
	lower := strings.ToLower(name)
	for _, c := range candidates {
		// The distance is at least the difference in length.
		if c == name || len(c) > len(name)+limit || len(c) < len(name)-limit {
			continue
		}
		d := distance(lower, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
