package uploader

import (
	"crypto/x509"
	"reflect"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// issued is a bundle for name, valid from an hour before t0 until notAfter.
func issued(t *testing.T, ca *certgen.CA, name string, notAfter time.Time) *bundle.Bundle {
	return testkit.Bundle(t, ca, []string{name}, t0.Add(-time.Hour), notAfter)
}

func TestDiff(t *testing.T) {
	ca, _ := certgen.NewCA("ours")
	other, _ := certgen.NewCA("someone else")
	// A CA valid at t0, which the roots trust.
	boughtRoot, _ := certgen.Issue("a CA the roots trust Root", nil, nil, t0.Add(-365*24*time.Hour), t0.Add(365*24*time.Hour))
	boughtInter, _ := certgen.Issue("a CA the roots trust Intermediate", nil, boughtRoot, t0.Add(-365*24*time.Hour), t0.Add(365*24*time.Hour))
	bought := &certgen.CA{Root: boughtRoot, Intermediate: boughtInter}
	trusted := x509.NewCertPool()
	trusted.AddCert(bought.Root.Cert)
	ours := issued(t, ca, "a.test", t0.Add(30*24*time.Hour))
	cases := []struct {
		name      string
		held      *bundle.Bundle // nil: DFP holds nothing for the name
		raw       string         // DFP's content when held is nil and raw is set
		stale     []Stale
		newer     bool
		expired   bool
		now       time.Time
		notServed string // the fingerprint the serve check did not see after its upload
	}{
		{name: "the same certificate: nothing to do", held: ours, now: t0},
		{name: "the same certificate with other bytes (parsed, not compared as text)", raw: string(ours.PEM) + "\n\n", now: t0},
		{name: "listed, but the proxy did not serve it after its upload", held: ours, now: t0, notServed: ours.Fingerprint(),
			stale: []Stale{{"a.test", NotServed}}},
		{name: "an older upload was not served; this one is listed", held: ours, now: t0, notServed: "older-fingerprint"},
		{name: "missing", now: t0, stale: []Stale{{"a.test", Missing}}},
		{name: "not loadable", raw: "-----BEGIN CERTIFICATE-----\nbroken", now: t0, stale: []Stale{{"a.test", Unloadable}}},
		{name: "older", held: issued(t, ca, "a.test", t0.Add(24*time.Hour)), now: t0, stale: []Stale{{"a.test", Older}}},
		{name: "newer from our own CA (another replica renewed it): left alone", held: issued(t, ca, "a.test", t0.Add(60*24*time.Hour)), now: t0, newer: true},
		{name: "newer, valid, from a CA the roots trust (an operator's): left alone", held: issued(t, bought, "a.test", t0.Add(60*24*time.Hour)), now: t0, newer: true},
		{name: "newer from an issuer nobody trusts (someone's PUT): replaced", held: issued(t, other, "a.test", t0.Add(60*24*time.Hour)), now: t0, stale: []Stale{{"a.test", Older}}},
		{name: "newer but for another name: replaced", held: issued(t, ca, "b.test", t0.Add(60*24*time.Hour)), now: t0, stale: []Stale{{"a.test", Older}}},
		{name: "ours expired: forgotten, never uploaded", now: t0.Add(31 * 24 * time.Hour), expired: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var held []proxyapi.Cert
			switch {
			case c.held != nil:
				held = []proxyapi.Cert{{ProxyServiceName: "a.test.pem", CertContent: string(c.held.PEM)}}
			case c.raw != "":
				held = []proxyapi.Cert{{ProxyServiceName: "a.test.pem", CertContent: c.raw}}
			}
			var verdicts map[string]string
			if c.notServed != "" {
				verdicts = map[string]string{"a.test": c.notServed}
			}
			stale, newer, expired := Diff(held, map[string]*bundle.Bundle{"a.test": ours}, verdicts, trusted, c.now)
			if !reflect.DeepEqual(stale, c.stale) || (len(newer) == 1) != c.newer || (len(expired) == 1) != c.expired {
				t.Fatalf("Diff = stale %v, newer %d, expired %v; want stale %v, newer %v, expired %v",
					stale, len(newer), expired, c.stale, c.newer, c.expired)
			}
		})
	}
}

// Stored certificates are learned, not queued, until DFP's list has been compared; if the list
// cannot be read they are queued after all.
