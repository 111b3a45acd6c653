// Package discovery polls DFP for the names it serves and reports the set that needs certificates.
package discovery

import (
	"sort"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// Merge returns the sorted union of the discovered and extra names, less the excluded ones, and
// the excluded ones separately.
func Merge(discovered, extra []string, ex dnsname.Patterns) (names, excluded []string) {
	seen := map[string]bool{}
	for _, n := range append(append([]string{}, discovered...), extra...) {
		if seen[n] {
			continue
		}
		seen[n] = true
		if ex.Match(n) {
			excluded = append(excluded, n)
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	sort.Strings(excluded)
	return names, excluded
}
