package status

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"sync"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Cache keeps parsed certificates by their bytes across scrapes: parsing (the chain's
// signature checks) is most of a scrape's cost, and certificates change rarely.
type Cache struct {
	mu sync.Mutex
	m  map[string]*bundle.Bundle // sha256 of the PEM -> parsed
}

func (c *Cache) parse(pem []byte) (*bundle.Bundle, error) {
	if c == nil {
		return bundle.Parse(pem)
	}
	sum := sha256.Sum256(pem)
	key := string(sum[:])
	c.mu.Lock()
	b, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := bundle.Parse(pem)
	if err != nil {
		return nil, err
	}
	b = thin(b)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*bundle.Bundle{}
	}
	c.m[key] = b
	c.mu.Unlock()
	return b, nil
}

// thin keeps what the status reads of a bundle, the leaf's validity and fingerprint: the cache
// lives beside the certificate actors, and a second parsed copy of every certificate with its PEM
// was a third of the memory at 10,000 names.
func thin(b *bundle.Bundle) *bundle.Bundle {
	return &bundle.Bundle{Leaf: &x509.Certificate{Raw: bytes.Clone(b.Leaf.Raw), NotBefore: b.Leaf.NotBefore, NotAfter: b.Leaf.NotAfter}}
}

// retain keeps only the entries seen in the last load, so replaced certificates do not pile up.
func (c *Cache) retain(seen map[string]bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if !seen[k] {
			delete(c.m, k)
		}
	}
}
