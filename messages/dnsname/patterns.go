package dnsname

import "strings"

// Patterns match names as EXCLUDE_DOMAINS and DNS01_DOMAINS list them: exact names, and
// "*.example.com" for every name below example.com (not example.com itself, and, as a suffix
// match, the wildcard "*.example.com" too).
type Patterns struct {
	exact    map[string]bool
	suffixes []string
}

// NewPatterns builds the matcher from normalised entries.
func NewPatterns(entries []string) Patterns {
	p := Patterns{exact: map[string]bool{}}
	for _, x := range entries {
		if rest, ok := strings.CutPrefix(x, WildcardPrefix); ok {
			p.suffixes = append(p.suffixes, "."+rest)
			continue
		}
		p.exact[x] = true
	}
	return p
}

// Match reports whether name matches a pattern.
func (p Patterns) Match(name string) bool {
	if p.exact[name] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
