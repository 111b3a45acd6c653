package test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
)

// A DFP that answers garbage, refuses one certificate for good, redirects uploads elsewhere,
// answers 5 MiB errors and finally hangs: the service lives through all of it, keeps every other
// name moving, never follows a redirect, keeps its log lines short, and still stops inside
// SHUTDOWN_TIMEOUT.
func TestHostileDFP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["SHUTDOWN_TIMEOUT"] = "3s"
	w.Env["RECONCILE_INTERVAL"] = "1s"
	const refused = "b.multi.test"

	// Garbage in place of the service list: nothing is discovered, nothing crashes.
	w.DFP.SetFaults(dfpstub.Faults{ConfigBody: []byte("<html><body>502 Bad Gateway</body></html>")})
	r := w.start(t)
	begun := time.Now()
	phase := func(what string) { t.Logf("%5.1fs %s", time.Since(begun).Seconds(), what) }
	for _, body := range []string{`{"web":{"ServiceDest":[`, `null`, `{}`, `[1,2,3]`} {
		time.Sleep(1300 * time.Millisecond) // a poll of the previous answer
		w.DFP.SetFaults(dfpstub.Faults{ConfigBody: []byte(body)})
	}
	time.Sleep(1300 * time.Millisecond)
	if f, e := len(r.logs.Events(event.DiscoveryFailed)), len(r.logs.Events(event.DiscoveryEmpty)); f < 3 || e < 1 {
		t.Errorf("discovery_failed %d times (want HTML, truncated JSON and an array), discovery_empty %d (want null, {})", f, e)
	}
	if n := len(r.logs.Events(event.DomainDiscovered)); n != 0 {
		t.Fatalf("%d names discovered from garbage", n)
	}

	phase("redirect")
	// The real list, and uploads redirected to another host: never followed, never reported as uploaded.
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	w.DFP.SetFaults(dfpstub.Faults{RedirectPut: other.URL + "/steal", RedirectCode: http.StatusTemporaryRedirect})
	waitFor(t, "an upload meeting the redirect", 90*time.Second, r, func() bool {
		for _, e := range r.logs.Events(event.UploadFailed) {
			if strings.Contains(toString(e["error"]), "/steal") {
				return true
			}
		}
		return false
	})
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times: the private key went to another host", n)
	}

	if n := len(r.logs.Events(event.CertificateUploaded)); n != 0 {
		t.Fatalf("%d redirected uploads reported as uploaded", n)
	}

	phase("refuse")
	// One certificate refused for good: every other name is uploaded.
	w.DFP.SetFaults(dfpstub.Faults{RefuseCert: refused + ".pem"})
	others := certFiles(without(fixtureNames, refused))
	refusals := func() (n int) {
		for _, e := range r.logs.Events(event.UploadFailed) {
			if e["domain"] == refused && strings.Contains(toString(e["error"]), "permission denied") {
				n++
				if e["retry_at"] == nil {
					t.Errorf("upload_failed without retry_at: %v", e)
				}
			}
		}
		return n
	}
	waitFor(t, "every other name uploaded past the refused one", 90*time.Second, r, func() bool {
		held := strings.Join(w.DFP.CertNames(), ",")
		for _, f := range others {
			if !strings.Contains(held, f) {
				return false
			}
		}
		return refusals() > 0
	})

	phase("huge")
	// 5 MiB errors on every call: logged cut short.
	w.DFP.SetFaults(dfpstub.Faults{HugeErrors: true})
	huge := len(r.logs.Events(event.DiscoveryFailed))
	waitFor(t, "a few polls meeting 5 MiB errors", 20*time.Second, r, func() bool {
		return len(r.logs.Events(event.DiscoveryFailed)) >= huge+2
	})

	phase("healthy")
	// Healthy again: the refused name gets its upload.
	w.DFP.SetFaults(dfpstub.Faults{})
	waitFor(t, "the refused name uploaded once DFP takes it", 90*time.Second, r, func() bool {
		_, ok := w.DFP.Cert(refused + ".pem")
		return ok
	})

	phase("hang")
	// DFP hangs: the stop still fits SHUTDOWN_TIMEOUT.
	w.DFP.SetFaults(dfpstub.Faults{Hang: time.Minute})
	time.Sleep(1500 * time.Millisecond) // a poll and a reconciliation are now hanging
	begin := time.Now()
	r.stop()
	r.stop = nil
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stop took longer than Docker's grace period while DFP hung")
	}
	// SHUTDOWN_TIMEOUT bounds the stop; the second of slack is for a loaded CI machine.
	if took := time.Since(begin); took > 3*time.Second+2*time.Second {
		t.Errorf("the stop took %s with DFP hanging, SHUTDOWN_TIMEOUT is 3s", took)
	}
	w.DFP.SetFaults(dfpstub.Faults{})
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if len(line) > 4096 {
			t.Fatalf("a log line of %d bytes: %.200s...", len(line), line)
		}
	}
}

func without(names []string, drop string) []string {
	var out []string
	for _, n := range names {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

// A CA that answers 500, then one that says "retry after" a time already past: each is a failure
// with a retry time in the future (the normal backoff), never a crash nor an immediate new order,
// and neither leaves a certificate booked in the ledger.
func TestHostileCA(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "ca.test")
	w.Env["RATE_LIMITS"] = "production"
	var fail500 atomic.Bool
	fail500.Store(true)
	r := w.startWith(t, app.Faults{ACME: failingOrders(&fail500)})
	waitFor(t, "the 500", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceFailed)) == 1 })
	if at := logTime(t, r.logs.Events(event.IssuanceFailed)[0], "retry_at"); time.Until(at) < 50*time.Second {
		t.Fatalf("a 500 gave retry_at %s: sooner than the backoff", at)
	}

	fail500.Store(false)
	w.CA.RateLimitNextOrders(1, -time.Hour) // Retry-After in the past
	if err := store.RequestRetry(w.Env["DATA_DIR"], "ca.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rate-limited order", 30*time.Second, r, func() bool { return len(r.logs.Events(event.RateLimited)) == 1 })
	if at := logTime(t, r.logs.Events(event.RateLimited)[0], "retry_at"); time.Until(at) < 50*time.Second {
		t.Fatalf("a Retry-After in the past gave retry_at %s: sooner than the normal backoff", at)
	}
	time.Sleep(2 * time.Second) // a restarted actor would order again within seconds
	r.shutdown(t)
	if n := len(r.logs.Events(event.IssuanceStarted)); n != 2 {
		t.Errorf("%d orders started, want 2 (the 500, the limited one)", n)
	}
	if n := bookedCertificates(t, w, "ca.test"); n != 0 {
		t.Errorf("the ledger books %d certificates, want 0: failed orders are refunded", n)
	}
}

// failingOrders makes new orders fail with a CA 500 while fail holds.
func failingOrders(fail *atomic.Bool) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTrip(func(req *http.Request) (*http.Response, error) {
			if fail.Load() && len(orderNames(req)) > 0 {
				return &http.Response{StatusCode: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/problem+json"}},
					Body: io.NopCloser(strings.NewReader(`{"type":"urn:ietf:params:acme:error:serverInternal","detail":"boom","status":500}`)), Request: req}, nil
			}
			return next.RoundTrip(req)
		})
	}
}

// A peer's error that carries a secret (a DNS provider's request URL with its token; a secret the
// service was given) reaches neither the log, nor the stored state, nor status.
func TestSecretsInPeerErrorsAreScrubbed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "secret.test")
	const token = "notify-token-0123456789"
	w.Env["NOTIFY_TOKEN"] = token
	leak := func(next http.RoundTripper) http.RoundTripper {
		return roundTrip(func(req *http.Request) (*http.Response, error) {
			if len(orderNames(req)) > 0 {
				detail := `provider call to https://dns.example/update?domains=secret&token=provider-token-XYZ failed; we were given ` + token
				return &http.Response{StatusCode: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/problem+json"}},
					Body: io.NopCloser(strings.NewReader(`{"type":"urn:ietf:params:acme:error:serverInternal","detail":"` + detail + `","status":500}`)), Request: req}, nil
			}
			return next.RoundTrip(req)
		})
	}
	r := w.startWith(t, app.Faults{ACME: leak})
	waitFor(t, "the failed order", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceFailed)) == 1 })
	st, err := store.Open(w.Env["DATA_DIR"], w.Env["ACME_DIRECTORY"])
	if err != nil {
		t.Fatal(err)
	}
	state, err := st.LoadState("secret.test")
	if err != nil {
		t.Fatal(err)
	}
	report := statusNow(t, w)
	for what, text := range map[string]string{"the log": r.logs.String(), "state.json": state.LastError, "status": nameStatus(report, "secret.test").LastError} {
		for _, secret := range []string{"provider-token-XYZ", token} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the secret %q:\n%s", what, secret, text)
			}
		}
	}
	if !strings.Contains(state.LastError, "https://dns.example/update?***") {
		t.Errorf("state.json's error lost what it was about: %q", state.LastError)
	}
}
