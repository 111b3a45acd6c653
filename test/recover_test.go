package test

import (
	"bytes"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// The service's node is lost with its volume: a start on an empty DATA_DIR takes back what DFP
// holds, orders nothing, serves every name, and the ledger books the recovered certificates so
// that losing the volume did not lift a limit.
func TestEmptyDataDirRecoversFromDFP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["RATE_LIMITS"] = "production"
	want := certFiles(fixtureNames)
	first := w.start(t)
	waitFor(t, "every name uploaded", 90*time.Second, first, func() bool { return reflect.DeepEqual(w.DFP.CertNames(), want) })
	first.shutdown(t)
	orders := w.CA.Orders()
	if err := os.RemoveAll(w.Env["DATA_DIR"]); err != nil {
		t.Fatal(err)
	}
	// A certificate someone else put in DFP, from another CA, is not taken.
	other, err := certgen.NewCA("someone else")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Bundle([]string{"foreign.test"}, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w.DFP.PutRaw("foreign.test.pem", foreign)
	// Nor is a look-alike of the CA's own certificate for a name, with a later end: its serial and
	// key id are the real one's, so the CA's renewal info answers for it, but its chain leads
	// nowhere trusted. That name is ordered again.
	forgedName := fixtureNames[0]
	real, ok := w.DFP.Cert(forgedName + ".pem")
	if !ok {
		t.Fatalf("DFP holds no certificate for %s", forgedName)
	}
	realBundle, err := bundle.Parse(real)
	if err != nil {
		t.Fatal(err)
	}
	lookAlike, err := certgen.LookAlike(realBundle.Leaf, realBundle.Leaf.NotAfter.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w.DFP.PutRaw(forgedName+".pem", lookAlike)

	second := w.start(t)
	waitFor(t, "every certificate recovered and loaded, and the look-alike's name issued", 60*time.Second, second, func() bool {
		return len(second.logs.Events(event.CertificateLoaded)) == len(fixtureNames)-1 && len(second.logs.Events(event.CertificateObtained)) == 1
	})
	time.Sleep(2 * time.Second) // any further order would have started by now
	second.shutdown(t)
	if n := len(second.logs.Events(event.CertificateRecovered)); n != len(fixtureNames)-1 {
		t.Errorf("certificate_recovered logged %d times, want %d (all but the look-alike)", n, len(fixtureNames)-1)
	}
	skipped := map[any]bool{}
	for _, e := range second.logs.Events(event.RecoverySkipped) {
		skipped[e["domain"]] = true
	}
	if want := map[any]bool{"foreign.test": true, forgedName: true}; !reflect.DeepEqual(skipped, want) {
		t.Errorf("recovery_skipped for %v, want foreign.test (another CA's) and %s (a look-alike)", skipped, forgedName)
	}
	if n := w.CA.Orders() - orders; n != 1 {
		t.Errorf("the start on an empty DATA_DIR placed %d orders, want 1 (for the look-alike's name)", n)
	}
	if n := bookedCertificates(t, w, fixtureNames...); n < len(fixtureNames)-1 {
		t.Errorf("the rebuilt ledger books %d certificates, want at least %d", n, len(fixtureNames)-1)
	}
	if got, _ := w.DFP.Cert(forgedName + ".pem"); bytes.Equal(got, lookAlike) {
		t.Errorf("DFP still serves the look-alike for %s", forgedName)
	}
	if got := w.DFP.CertNames(); !reflect.DeepEqual(got, certFiles(append(append([]string{}, fixtureNames...), "foreign.test"))) {
		t.Errorf("DFP holds %v after the recovery", got)
	}
}
