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
// its upload). It returns the names to upload again (soonest expiry first), the names where DFP
// holds something newer, and the names whose known bundle is no longer valid (expired meanwhile:
// never uploaded again). It is a Differ fed the whole list.
func Diff(held []proxyapi.Cert, known map[string]*bundle.Bundle, notServed map[string]string, roots *x509.CertPool, now time.Time) (stale []Stale, newer []Newer, expired []string) {
	d := NewDiffer(known, notServed, roots, now)
	for _, c := range held {
		d.Add(c)
	}
	return d.Result()
}

// Differ is Diff fed one of DFP's certificates at a time, as proxyapi.EachCert decodes them:
// only a verdict per name is kept, never DFP's list (35 MB at 10,000 names).
type Differ struct {
	known     map[string]*bundle.Bundle
	notServed map[string]string
	roots     *x509.CertPool
	now       time.Time
	issuers   []*x509.Certificate
	byFile    map[string]string // CertName -> name, for the known names
	// verdict is what DFP's file for a name says: a reason to upload again, a newer certificate,
	// or neither (current). A name without a verdict has no file in DFP.
	verdict map[string]verdict
}

type verdict struct {
	stale Reason // "" when DFP's copy is current or newer
	newer *bundle.Bundle
}

// NewDiffer starts a comparison; known and notServed are read, never changed, until Result.
func NewDiffer(known map[string]*bundle.Bundle, notServed map[string]string, roots *x509.CertPool, now time.Time) *Differ {
	byFile := make(map[string]string, len(known))
	for name := range known {
		byFile[CertName(name)] = name
	}
	return &Differ{known: known, notServed: notServed, roots: roots, now: now, issuers: bundle.Issuers(known),
		byFile: byFile, verdict: make(map[string]verdict, len(known))}
}

// Add judges one file of DFP's; a file for no known name is left alone. Should DFP list a file
// twice, the last one counts, as it would in a map.
func (d *Differ) Add(c proxyapi.Cert) {
	name, ok := d.byFile[c.ProxyServiceName]
	if !ok {
		return
	}
	want := d.known[name]
	if want.SamePEM([]byte(c.CertContent)) { // DFP stores what it is sent verbatim: no need to parse it
		d.verdict[name] = verdict{stale: d.notServedReason(name, want)}
		return
	}
	have, err := bundle.Parse([]byte(c.CertContent))
	switch {
	case err != nil:
		d.verdict[name] = verdict{stale: Unloadable}
	case have.Fingerprint() == want.Fingerprint():
		d.verdict[name] = verdict{stale: d.notServedReason(name, want)}
	case have.NotAfter().After(want.NotAfter()) && have.Check(name, d.now) == nil && bundle.Trusted(have, name, d.issuers, d.roots, d.now):
		d.verdict[name] = verdict{newer: have}
	default:
		d.verdict[name] = verdict{stale: Older}
	}
}

// notServedReason is NotServed when the proxy did not present want after its upload, else "".
func (d *Differ) notServedReason(name string, want *bundle.Bundle) Reason {
	if d.notServed[name] == want.Fingerprint() {
		return NotServed
	}
	return ""
}

// Result is Diff's answer once every file has been added.
func (d *Differ) Result() (stale []Stale, newer []Newer, expired []string) {
	for name, want := range d.known {
		v, listed := d.verdict[name]
		switch {
		case want.Check(name, d.now) != nil:
			expired = append(expired, name)
		case !listed:
			stale = append(stale, Stale{name, Missing})
		case v.newer != nil:
			newer = append(newer, Newer{Name: name, Held: v.newer, NotAfter: want.NotAfter()})
		case v.stale != "":
			stale = append(stale, Stale{name, v.stale})
		}
	}
	// Soonest expiry first: after a loss, the certificate closest to its end is restored first.
	sort.Slice(stale, func(i, j int) bool {
		a, b := d.known[stale[i].Name].NotAfter(), d.known[stale[j].Name].NotAfter()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return stale[i].Name < stale[j].Name
	})
	sort.Slice(newer, func(i, j int) bool { return newer[i].Name < newer[j].Name })
	sort.Strings(expired)
	return stale, newer, expired
}
