package test

import (
	"os"
	"reflect"
	"testing"
	"time"

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

	second := w.start(t)
	waitFor(t, "every certificate recovered and loaded", 30*time.Second, second, func() bool {
		return len(second.logs.Events(event.CertificateLoaded)) == len(fixtureNames)
	})
	time.Sleep(2 * time.Second) // any order would have started by now
	second.shutdown(t)
	if n := len(second.logs.Events(event.CertificateRecovered)); n != len(fixtureNames) {
		t.Errorf("certificate_recovered logged %d times, want %d", n, len(fixtureNames))
	}
	skipped := second.logs.Events(event.RecoverySkipped)
	if len(skipped) != 1 || skipped[0]["domain"] != "foreign.test" {
		t.Errorf("recovery_skipped = %v, want foreign.test (another CA's)", skipped)
	}
	if n := w.CA.Orders() - orders; n != 0 {
		t.Errorf("the start on an empty DATA_DIR placed %d orders, want 0", n)
	}
	if n := bookedCertificates(t, w, fixtureNames...); n != len(fixtureNames) {
		t.Errorf("the rebuilt ledger books %d certificates, want %d", n, len(fixtureNames))
	}
	if got := w.DFP.CertNames(); !reflect.DeepEqual(got, certFiles(append(append([]string{}, fixtureNames...), "foreign.test"))) {
		t.Errorf("DFP holds %v after the recovery", got)
	}
}
