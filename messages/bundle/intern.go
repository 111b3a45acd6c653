package bundle

import (
	"crypto/x509"
	"sync"
)

// issuers keeps one parsed copy of each intermediate certificate: a CA signs thousands of leaves
// with a handful of intermediates, and a parsed certificate is several kilobytes, so without it
// every bundle held its own copy (half the parsed bytes at 1,000 names). Parsed certificates are
// never changed after parsing, so sharing them is safe.
var issuers = internTable{parsed: map[string]*x509.Certificate{}, seen: map[string]int{}}

// maxInterned bounds the table against a stream of distinct chains (a hostile or broken DFP):
// when full, a certificate seen only once makes room for the newcomer, so that junk churns among
// itself while the intermediates shared by many bundles stay.
const maxInterned = 256

type internTable struct {
	mu     sync.Mutex
	parsed map[string]*x509.Certificate // by DER
	seen   map[string]int               // how many bundles each interned certificate served
}

// parse returns the one parsed copy of der, parsing it on first sight.
func (t *internTable) parse(der []byte) (*x509.Certificate, error) {
	t.mu.Lock()
	c, ok := t.parsed[string(der)]
	if ok {
		t.seen[string(der)]++
	}
	t.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.parsed[string(der)]; ok {
		t.seen[string(der)]++
		return prev, nil
	}
	if len(t.parsed) >= maxInterned {
		for k, n := range t.seen {
			if n <= 1 {
				delete(t.parsed, k)
				delete(t.seen, k)
				break
			}
		}
	}
	if len(t.parsed) < maxInterned {
		t.parsed[string(der)] = c
		t.seen[string(der)] = 1
	}
	return c, nil
}
