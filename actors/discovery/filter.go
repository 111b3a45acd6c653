// Package discovery polls DFP for the names it serves and reports the set that needs certificates.
package discovery

import (
	"sort"
	"strings"
)

// Exclusions are names that never get a certificate: exact names, and "*.example.com" for every
// subdomain of example.com (not example.com itself).
type Exclusions struct {
	exact    map[string]bool
	suffixes []string
}

// NewExclusions builds the matcher from normalised entries.
func NewExclusions(entries []string) Exclusions {
	e := Exclusions{exact: map[string]bool{}}
	for _, x := range entries {
		if rest, ok := strings.CutPrefix(x, "*."); ok {
			e.suffixes = append(e.suffixes, "."+rest)
			continue
		}
		e.exact[x] = true
	}
	return e
}

// Excludes reports whether name is excluded.
func (e Exclusions) Excludes(name string) bool {
	if e.exact[name] {
		return true
	}
	for _, s := range e.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Merge returns the sorted union of the discovered and extra names, less the excluded ones, and
// the excluded ones separately.
func Merge(discovered, extra []string, ex Exclusions) (names, excluded []string) {
	seen := map[string]bool{}
	for _, n := range append(append([]string{}, discovered...), extra...) {
		if seen[n] {
			continue
		}
		seen[n] = true
		if ex.Excludes(n) {
			excluded = append(excluded, n)
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	sort.Strings(excluded)
	return names, excluded
}
