package test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// Every upload reloads HAProxy. Uploads are made only for what DFP lacks: one per new name, none at
// a start when DFP holds everything, one per name after DFP lost its files, none for a
// reconciliation with nothing changed.
func TestUploadsOnlyWhatDFPLacks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["RECONCILE_INTERVAL"] = "1s"
	want := certFiles(fixtureNames)
	uploads := func() int { return len(w.DFP.Uploads()) }

	first := w.start(t)
	waitFor(t, "every name uploaded", 90*time.Second, first, func() bool { return reflect.DeepEqual(w.DFP.CertNames(), want) })
	time.Sleep(2500 * time.Millisecond) // two reconciliations with nothing changed
	newNames := uploads()
	first.shutdown(t)

	second := w.start(t)
	waitFor(t, "every stored certificate loaded", 30*time.Second, second, func() bool {
		return len(second.logs.Events(event.CertificateLoaded)) == len(fixtureNames)
	})
	time.Sleep(2500 * time.Millisecond) // the comparison with DFP's list, and two reconciliations
	atStart := uploads() - newNames

	w.DFP.Restart(false) // DFP lost its services and its files
	waitFor(t, "DFP restored", 30*time.Second, second, func() bool { return reflect.DeepEqual(w.DFP.CertNames(), want) })
	time.Sleep(2500 * time.Millisecond)
	afterDFPRestart := uploads() - newNames - atStart
	second.shutdown(t)

	t.Logf("uploads (HAProxy reloads): %d for %d new names, %d at a start with DFP holding everything, %d after DFP lost its files",
		newNames, len(fixtureNames), atStart, afterDFPRestart)
	if newNames != len(fixtureNames) || atStart != 0 || afterDFPRestart != len(fixtureNames) {
		t.Errorf("uploads: %d for new names (want %d), %d at a start (want 0), %d after DFP's restart (want %d)",
			newNames, len(fixtureNames), atStart, afterDFPRestart, len(fixtureNames))
	}
}
