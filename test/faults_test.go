package test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/preflight"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// startWith is start with faults between the service and its peers.
func (w *World) startWith(t *testing.T, faults app.Faults) *running {
	t.Helper()
	cfg, err := config.Load(w.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{logs: &testkit.LogBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- app.RunWith(ctx, cfg, app.NewLogger(cfg, r.logs), faults) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

// roundTrip adapts a function to http.RoundTripper.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// orderNames returns the identifiers of an ACME new-order request (from its JWS payload), or nil.
func orderNames(r *http.Request) []string {
	if r.Method != http.MethodPost || r.Body == nil {
		return nil
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var jws struct{ Payload string }
	if json.Unmarshal(body, &jws) != nil {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(jws.Payload)
	if err != nil {
		return nil
	}
	var order struct{ Identifiers []struct{ Value string } }
	if json.Unmarshal(payload, &order) != nil {
		return nil
	}
	var out []string
	for _, id := range order.Identifiers {
		out = append(out, id.Value)
	}
	return out
}

type panickingPreflight struct {
	next certificate.Preflighter
	name string
	on   *atomic.Bool
}

func (p panickingPreflight) Check(ctx context.Context, name string) (preflight.Result, error) {
	if p.on.Load() && name == p.name {
		panic("pre-flight fell over for " + name)
	}
	return p.next.Check(ctx, name)
}

// A panic in lego (an order), in the pre-flight and in a DFP call while Pebble validates the
// other names through the responder: the process lives, every other name is issued, uploaded and
// served, and the panicking names recover once the panics stop.
func TestPanicsInBackgroundWorkStayLocal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Credentials in PROXY_ADDRESS are sent (DFP ignores them) and never logged.
	w.Env["PROXY_ADDRESS"] = strings.Replace(w.DFP.URL(), "http://", "http://admin:s3cret@", 1)
	const orderPanics, preflightPanics, uploadPanics = "example.test", "dsvc.test", "b.multi.test"
	var on atomic.Bool
	on.Store(true)
	faults := app.Faults{
		ACME: func(next http.RoundTripper) http.RoundTripper {
			return roundTrip(func(r *http.Request) (*http.Response, error) {
				if on.Load() && reflect.DeepEqual(orderNames(r), []string{orderPanics}) {
					panic("lego fell over ordering " + orderPanics)
				}
				return next.RoundTrip(r)
			})
		},
		DFP: func(next http.RoundTripper) http.RoundTripper {
			return roundTrip(func(r *http.Request) (*http.Response, error) {
				if on.Load() && r.Method == http.MethodPut && r.URL.Query().Get("certName") == uploadPanics+".pem" {
					panic("DFP client fell over uploading " + uploadPanics)
				}
				return next.RoundTrip(r)
			})
		},
		Preflight: func(next certificate.Preflighter) certificate.Preflighter {
			return panickingPreflight{next: next, name: preflightPanics, on: &on}
		},
	}
	r := w.startWith(t, faults)

	healthy := []string{"a.multi.test", "api.multi.test", "old.multi.test", "www.example.test"}
	waitFor(t, "every healthy name uploaded and each fault recovered", 60*time.Second, r, func() bool {
		held := map[string]bool{}
		for _, n := range w.DFP.CertNames() {
			held[n] = true
		}
		for _, n := range healthy {
			if !held[n+".pem"] {
				return false
			}
		}
		return len(r.logs.Events(event.PanicRecovered)) >= 3 && len(r.logs.Events(event.UploadFailed)) >= 1
	})
	panicked := map[string]bool{}
	for _, rec := range r.logs.Events(event.PanicRecovered) {
		msg, _ := rec["error"].(string)
		for _, n := range []string{orderPanics, preflightPanics, uploadPanics} {
			if strings.Contains(msg, n) {
				panicked[n] = true
			}
		}
		if stack, _ := rec["stack"].(string); !strings.Contains(stack, "faults_test.go") {
			t.Errorf("panic_recovered without the panic's stack: %v", rec)
		}
	}
	if len(panicked) != 3 {
		t.Errorf("panics recovered for %v, want the order, the pre-flight and the upload", panicked)
	}
	for _, rec := range r.logs.Events(event.IssuanceFailed) {
		if rec["domain"] != orderPanics {
			t.Errorf("a healthy name failed while others panicked (did the responder stop?): %v", rec)
		}
	}

	// The panics stop; an operator's retry-now skips the failures' backoff.
	on.Store(false)
	for _, n := range []string{orderPanics, preflightPanics} {
		if err := store.RequestRetry(w.Env["DATA_DIR"], n); err != nil {
			t.Fatal(err)
		}
	}
	want := certFiles(fixtureNames)
	waitFor(t, "every name, the panicking ones included, uploaded", 60*time.Second, r, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), want)
	})
	waitFor(t, "every name served", 20*time.Second, r, func() bool {
		return len(r.logs.Events(event.CertificateServed)) >= len(fixtureNames)
	})
	r.shutdown(t)
	if strings.Contains(r.logs.String(), "s3cret") {
		t.Error("the PROXY_ADDRESS password reached the log")
	}
	started := r.logs.Events(event.ServiceStarted)
	if len(started) != 1 || !strings.Contains(started[0]["proxy"].(string), strings.TrimPrefix(w.DFP.URL(), "http://")) {
		t.Errorf("service_started = %v, want the proxy address without its password", started)
	}
}
