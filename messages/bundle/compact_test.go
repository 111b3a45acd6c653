package bundle

import (
	"bytes"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// A compact bundle answers what its holders ask exactly as the bundle did, and holds no PEM.
func TestCompactAnswersAsTheBundle(t *testing.T) {
	now := time.Now()
	ca := must[*certgen.CA](t)(certgen.NewCA("test"))
	data := must[[]byte](t)(ca.Bundle([]string{"example.com", "www.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour)))
	b := must[*Bundle](t)(Parse(data))
	c := b.Compact()
	if c.PEM != nil || c.Leaf.Raw != nil {
		t.Fatal("the compact bundle still holds its PEM or the leaf's DER")
	}
	if c.Fingerprint() != b.Fingerprint() || c.Lifetime() != b.Lifetime() || c.Chain[0] != b.Chain[0] {
		t.Errorf("fingerprint, lifetime or issuer changed: %s %s", c.Fingerprint(), b.Fingerprint())
	}
	for _, at := range []struct {
		name string
		now  time.Time
	}{{"example.com", now}, {"www.example.com", now}, {"other.com", now}, {"example.com", now.Add(48 * time.Hour)}} {
		if got, want := c.Check(at.name, at.now), b.Check(at.name, at.now); (got == nil) != (want == nil) {
			t.Errorf("Check(%s, %s): compact %v, bundle %v", at.name, at.now, got, want)
		}
	}
	other := must[[]byte](t)(ca.Bundle([]string{"example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour)))
	if !c.SamePEM(data) || c.SamePEM(other) || !b.SamePEM(data) || b.SamePEM(other) {
		t.Error("SamePEM does not tell the bundle's PEM from another")
	}
	if cc := c.Compact(); cc != c {
		t.Error("compacting twice made a new bundle")
	}
	if !bytes.Equal(b.PEM, data) {
		t.Error("Compact changed the bundle it was made from")
	}
}
