package uploader

import (
	"crypto/x509"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Anyone who reaches DFP's API can put a certificate there (DFP rule D in proxyapi): one with a
// later NotAfter must not be taken as "newer, leave it" on its word. Trusted decides.

// Issuers are the intermediates that signed the service's own certificates (known), one of each.
func Issuers(known map[string]*bundle.Bundle) []*x509.Certificate {
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

// Trusted says whether a certificate DFP holds for name may stand instead of the service's: its
// leaf was signed by one of the service's own issuers (its CA renewed it, say from another
// replica), or its chain verifies for name against roots (nil: the system's; a certificate an
// operator bought).
func Trusted(have *bundle.Bundle, name string, issuers []*x509.Certificate, roots *x509.CertPool, now time.Time) bool {
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
