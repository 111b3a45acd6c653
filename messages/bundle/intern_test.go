package bundle

import (
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// Bundles signed by one intermediate share its parsed copy; the leaves stay their own.
func TestBundlesShareTheirIntermediate(t *testing.T) {
	now := time.Now()
	ca := must[*certgen.CA](t)(certgen.NewCA("intern"))
	a := must[*Bundle](t)(Parse(must[[]byte](t)(ca.Bundle([]string{"a.example.com"}, now, now.Add(time.Hour)))))
	b := must[*Bundle](t)(Parse(must[[]byte](t)(ca.Bundle([]string{"b.example.com"}, now, now.Add(time.Hour)))))
	if len(a.Chain) != 1 || len(b.Chain) != 1 {
		t.Fatalf("chains of %d and %d certificates, want 1 each", len(a.Chain), len(b.Chain))
	}
	if a.Chain[0] != b.Chain[0] {
		t.Error("each bundle holds its own parsed intermediate")
	}
	if a.Leaf == b.Leaf || a.Leaf.Subject.CommonName == b.Leaf.Subject.CommonName {
		t.Error("leaves were shared")
	}
}

// Past maxInterned distinct intermediates the table stops growing and parsing still works; and
// when junk (a hostile DFP's chains) filled it first, the intermediate the service's own bundles
// share still gets interned, in the place of a certificate seen once.
func TestInternTableIsBounded(t *testing.T) {
	table := internTable{parsed: map[string]*x509.Certificate{}, seen: map[string]int{}}
	for i := 0; i < maxInterned+10; i++ {
		ca := must[*certgen.CA](t)(certgen.NewCA(fmt.Sprint("bounded ", i)))
		c, err := table.parse(ca.Intermediate.Cert.Raw)
		if err != nil || c.Subject.CommonName != ca.Intermediate.Cert.Subject.CommonName {
			t.Fatalf("intermediate %d: %v, %v", i, c, err)
		}
	}
	if len(table.parsed) != maxInterned {
		t.Errorf("%d intermediates kept, want the bound %d", len(table.parsed), maxInterned)
	}
	shared := must[*certgen.CA](t)(certgen.NewCA("shared")).Intermediate.Cert.Raw
	first := must[*x509.Certificate](t)(table.parse(shared))
	if again := must[*x509.Certificate](t)(table.parse(shared)); again != first {
		t.Error("with the table full of junk, the shared intermediate is parsed for every bundle")
	}
	if len(table.parsed) != maxInterned {
		t.Errorf("%d intermediates kept after the shared one, want the bound %d", len(table.parsed), maxInterned)
	}
}
