package uploader

import (
	"crypto/x509"
	"sort"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// What DFP holds against what it should hold: Diff, after each GET /certs.

// CertName is the file name a certificate for name gets in DFP's /certs ("_wildcard.x.pem" for
// "*.x": see dnsname.FileStem).
func CertName(name string) string { return dnsname.FileStem(name) + ".pem" }

// Reason says why DFP's copy of a certificate is out of date.
type Reason string

const (
	Missing    Reason = "missing"    // DFP holds no file for the name
	Unloadable Reason = "unloadable" // DFP's file is not a bundle HAProxy can load
	Older      Reason = "older"      // DFP holds an older certificate for the name, or one nobody we trust issued
	NotServed  Reason = "not_served" // DFP lists it, but HAProxy served another after the upload
)

// Why says what a reason means for a client of the proxy.
func (r Reason) Why() string {
	switch r {
	case Missing:
		return "DFP's /certs lacks the certificate"
	case Unloadable:
		return "DFP holds a file HAProxy cannot load for the name"
	case Older:
		return "DFP holds an older certificate for the name"
	}
	return "HAProxy served another certificate after the upload"
}

// Stale is one name whose copy in DFP must be replaced.
type Stale struct {
	Name   string
	Reason Reason
}

// Newer is a name for which DFP holds a newer valid certificate than ours (put there by someone
// else): it is left alone.
type Newer struct {
	Name     string
	Held     *bundle.Bundle
	NotAfter time.Time // ours
}

// Diff compares what DFP holds (GET /certs, by fingerprint) with the newest known bundles, and
// with the serve check's verdicts (notServed: name -> fingerprint the proxy did not present after
// its upload). It returns the names to upload again (soonest expiry first), the names where DFP holds something newer,
// and the names whose known bundle is no longer valid (expired meanwhile: never uploaded again).
func Diff(held []proxyapi.Cert, known map[string]*bundle.Bundle, notServed map[string]string, roots *x509.CertPool, now time.Time) (stale []Stale, newer []Newer, expired []string) {
	issuers := bundle.Issuers(known)
	content := map[string]string{}
	for _, c := range held {
		content[c.ProxyServiceName] = c.CertContent
	}
	for name, want := range known {
		if want.Check(name, now) != nil {
			expired = append(expired, name)
			continue
		}
		text, ok := content[CertName(name)]
		if !ok {
			stale = append(stale, Stale{name, Missing})
			continue
		}
		if want.SamePEM([]byte(text)) { // DFP stores what it is sent verbatim: no need to parse it
			if notServed[name] == want.Fingerprint() {
				stale = append(stale, Stale{name, NotServed})
			}
			continue
		}
		have, err := bundle.Parse([]byte(text))
		switch {
		case err != nil:
			stale = append(stale, Stale{name, Unloadable})
		case have.Fingerprint() == want.Fingerprint() && notServed[name] == want.Fingerprint():
			stale = append(stale, Stale{name, NotServed})
		case have.Fingerprint() == want.Fingerprint():
		case have.NotAfter().After(want.NotAfter()) && have.Check(name, now) == nil && bundle.Trusted(have, name, issuers, roots, now):
			newer = append(newer, Newer{Name: name, Held: have, NotAfter: want.NotAfter()})
		default:
			stale = append(stale, Stale{name, Older})
		}
	}
	// Soonest expiry first: after a loss, the certificate closest to its end is restored first.
	sort.Slice(stale, func(i, j int) bool {
		a, b := known[stale[i].Name].NotAfter(), known[stale[j].Name].NotAfter()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return stale[i].Name < stale[j].Name
	})
	sort.Slice(newer, func(i, j int) bool { return newer[i].Name < newer[j].Name })
	sort.Strings(expired)
	return stale, newer, expired
}
