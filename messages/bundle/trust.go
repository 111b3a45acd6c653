package bundle

import (
	"crypto/x509"
	"time"
)

// A certificate someone else put where this service keeps its own (anyone who reaches DFP's API
// can) must not be taken on its word: Trusted says whether it may stand.

// Issuers are the intermediates that signed the service's own certificates (known), one of each.
func Issuers(known map[string]*Bundle) []*x509.Certificate {
	seen := map[string]bool{}
	var out []*x509.Certificate
	for _, b := range known {
		if len(b.Chain) > 0 && !seen[string(b.Chain[0].Raw)] {
			seen[string(b.Chain[0].Raw)] = true
			out = append(out, b.Chain[0])
		}
	}
	return out
}

// Trusted says whether have, found for name, may stand instead of the service's certificate: its
// leaf was signed by one of the service's own issuers (its CA renewed it, say from another
// replica), or its chain verifies for name against roots (nil: the system's; a certificate an
// operator bought).
func Trusted(have *Bundle, name string, issuers []*x509.Certificate, roots *x509.CertPool, now time.Time) bool {
	for _, issuer := range issuers {
		if have.Leaf.CheckSignatureFrom(issuer) == nil {
			return true
		}
	}
	intermediates := x509.NewCertPool()
	for _, c := range have.Chain {
		intermediates.AddCert(c)
	}
	_, err := have.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: intermediates, CurrentTime: now})
	return err == nil
}
