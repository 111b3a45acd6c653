package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// counting stands for the service's own transport wrapper (metrics.ACMETransport): any transport
// that is not net/http's own.
type counting struct{ next http.RoundTripper }

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) { return c.next.RoundTrip(r) }

// lego sends HEAD requests for nonces and never closes their bodies; each must not leave a goroutine
// behind for the length of the timeout.
func TestRequestsLeaveNoGoroutineBehind(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Replay-Nonce", "n")
	}))
	defer srv.Close()
	transport := counting{next: srv.Client().Transport}
	client := &http.Client{Transport: withDeadline{next: transport, timeout: time.Minute}}
	before := runtime.NumGoroutine()
	const requests = 200
	for i := 0; i < requests; i++ {
		if _, err := client.Head(srv.URL); err != nil { // body left open, as lego does
			t.Fatal(err)
		}
	}
	if grew := runtime.NumGoroutine() - before; grew > requests/10 {
		t.Errorf("%d HEAD requests left %d goroutines behind", requests, grew)
	}
}

// The deadline still bounds a request, as Client.Timeout did.
func TestRequestsStillHaveADeadline(t *testing.T) {
	srv := testkit.HangingServer(t)
	client := &http.Client{Transport: withDeadline{next: counting{next: srv.Client().Transport}, timeout: 100 * time.Millisecond}}
	_, err := client.Get(srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hanging CA gave %v, want the deadline", err)
	}
}
