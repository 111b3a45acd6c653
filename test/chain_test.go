package test

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// PREFERRED_CHAIN takes the CA's alternate chain whose top is issued by that name; DFP serves it.
// From the built binary.
func TestPreferredChainPicksTheNamedAlternate(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorldWith(t, testca.Options{AlternateRoots: 1})
	roots := w.CA.RootNames()
	if len(roots) != 2 || roots[0] == roots[1] {
		t.Fatalf("Pebble's roots %q: want two with different names", roots)
	}
	onlyDomains(w, "chain.test")
	w.Env["PREFERRED_CHAIN"] = roots[1]
	w.Env["LOG_LEVEL"] = "info"
	_, logs := startBinary(t, bin, w)
	eventuallyLogged(t, "the upload", 30*time.Second, logs, func() bool { return len(logs.Events(event.CertificateUploaded)) == 1 })
	pem, ok := w.DFP.Cert("chain.test.pem")
	if !ok {
		t.Fatal("DFP holds no chain.test.pem")
	}
	b, err := bundle.Parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Chain) == 0 {
		t.Fatal("the bundle has no chain")
	}
	if top := b.Chain[len(b.Chain)-1].Issuer.CommonName; top != roots[1] {
		t.Errorf("the chain goes up to %q, want the preferred %q (the default is %q)", top, roots[1], roots[0])
	}
}
