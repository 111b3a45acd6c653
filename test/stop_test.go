package test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// A stop with an order hanging at the CA finishes inside SHUTDOWN_TIMEOUT (Docker kills at its
// grace period), says which order it abandoned, and the next start orders that name on the same
// booking: nothing is lost and nothing is spent twice.
func TestStopFinishesInsideShutdownTimeoutWithAnOrderHanging(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "hang.test")
	w.Env["SHUTDOWN_TIMEOUT"] = "3s"
	w.Env["RATE_LIMITS"] = "production"
	hang := slow(func(r *http.Request) bool { return len(orderNames(r)) > 0 }, 60*time.Second)
	r := w.startWith(t, app.Faults{ACME: hang})
	waitFor(t, "the order to start", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceStarted)) == 1 })
	time.Sleep(300 * time.Millisecond) // the order is now stuck in its new-order request

	begin := time.Now()
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stop took longer than Docker's 10 s grace period")
	}
	took := time.Since(begin)
	t.Logf("stop with an order hanging took %s (SHUTDOWN_TIMEOUT=3s)", took.Round(time.Millisecond))
	if took > 3*time.Second+2*time.Second { // slack for a loaded CI machine
		t.Errorf("the stop took %s, more than SHUTDOWN_TIMEOUT=3s", took)
	}
	abandoned := r.logs.Events(event.ShutdownOrdersAbandoned)
	if len(abandoned) != 1 || !strings.Contains(toString(abandoned[0]["domains"]), "hang.test") {
		t.Fatalf("shutdown_orders_abandoned = %v, want hang.test named", abandoned)
	}
	st, err := store.Open(w.Env["DATA_DIR"], w.CA.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	state, err := st.LoadState("hang.test")
	if err != nil || !strings.Contains(state.LastError, "abandoned at shutdown") {
		t.Errorf("state after the stop = %+v, %v; want the abandoned order recorded", state, err)
	}

	again := w.start(t)
	waitFor(t, "the name issued at the next start", 30*time.Second, again, func() bool {
		return len(again.logs.Events(event.CertificateObtained)) == 1
	})
	again.shutdown(t)
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("the CA received %d orders, want 1 (the hung one never reached it)", n)
	}
	if n := bookedCertificates(t, w, "hang.test"); n != 1 {
		t.Errorf("the ledger books %d certificates for hang.test, want 1 (the abandoned booking reused)", n)
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, toString(p))
		}
		return strings.Join(parts, ",")
	}
	return ""
}
