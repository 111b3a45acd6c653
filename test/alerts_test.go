package test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// recordWebhook is an alert webhook that keeps what it is sent: its URL, and the alerts so far.
func recordWebhook(t *testing.T) (string, func() []map[string]any) {
	t.Helper()
	var (
		mu     sync.Mutex
		alerts []map[string]any
	)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		var a map[string]any
		_ = json.NewDecoder(r.Body).Decode(&a)
		mu.Lock()
		alerts = append(alerts, a)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return hook.URL, func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), alerts...)
	}
}

// A name that fails ALERT_AFTER_FAILURES times in a row and then succeeds gives exactly one trouble
// message and one recovery message on the webhook, in Slack's format.
func TestWebhookAlertsOnceForTroubleAndOnceForRecovery(t *testing.T) {
	t.Parallel()
	hook, received := recordWebhook(t)
	w := newWorld(t)
	onlyDomains(w, "flaky.test")
	w.Env["ALERT_WEBHOOK_URL"] = hook
	w.Env["ALERT_AFTER_FAILURES"] = "3"
	var fail atomic.Bool
	fail.Store(true)
	r := w.startWith(t, app.Faults{ACME: failingOrders(&fail)})
	for i := 1; i <= 3; i++ {
		waitFor(t, "a failure", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceFailed)) == i })
		if i < 3 {
			if err := store.RequestRetry(w.Env["DATA_DIR"], "flaky.test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the trouble alert", 10*time.Second, r, func() bool { return len(received()) == 1 })
	fail.Store(false)
	if err := store.RequestRetry(w.Env["DATA_DIR"], "flaky.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the recovery alert", 30*time.Second, r, func() bool { return len(received()) == 2 })
	time.Sleep(1500 * time.Millisecond) // anything more would show now
	r.shutdown(t)
	got := received()
	if len(got) != 2 {
		t.Fatalf("%d alerts, want 2: %v", len(got), got)
	}
	if got[0]["state"] != "trouble" || got[0]["kind"] != "failing" || got[0]["name"] != "flaky.test" || !strings.Contains(toString(got[0]["text"]), "flaky.test") {
		t.Errorf("first alert = %v, want flaky.test failing, with a text", got[0])
	}
	if got[1]["state"] != "recovered" || got[1]["kind"] != "failing" {
		t.Errorf("second alert = %v, want the recovery", got[1])
	}
	if n := len(r.logs.Events(event.AlertSent)); n != 2 {
		t.Errorf("alert_sent logged %d times, want 2", n)
	}
}
