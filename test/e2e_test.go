package test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

func newWorld(t *testing.T) *World {
	t.Helper()
	return newWorldWith(t, testca.Options{})
}

func newWorldWith(t *testing.T, opts testca.Options) *World {
	t.Helper()
	w, err := NewWorld(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	// The literal quotes are what the seed's compose example leaves in the value.
	w.Env["EXCLUDE_DOMAINS"] = `"late.test, *.nothing.test"`
	w.Env["LOG_LEVEL"] = "debug"
	return w
}

// onlyDomains empties DFP's service list, so the service manages just these names (DOMAINS).
func onlyDomains(w *World, names string) {
	w.DFP.Restart(false)
	w.Env["DOMAINS"] = names
}

// running is one start of the real service.
type running struct {
	logs *testkit.LogBuffer
	stop context.CancelFunc
	done chan error
}

func (w *World) start(t *testing.T) *running {
	t.Helper()
	cfg, err := config.Load(w.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{logs: &testkit.LogBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- app.Run(ctx, cfg, app.NewLogger(cfg, r.logs)) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

func (r *running) shutdown(t *testing.T) {
	t.Helper()
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("service stopped with error: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("service did not stop within 60s of cancellation")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, r *running, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; service log:\n%s", timeout, what, r.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var fixtureNames = []string{
	"a.multi.test", "api.multi.test", "b.multi.test", "dsvc.test",
	"example.test", "old.multi.test", "www.example.test",
}

func certFiles(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + ".pem"
	}
	sort.Strings(out)
	return out
}

func TestEndToEndProvisionsEveryNameAndRestartIssuesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	want := certFiles(fixtureNames)
	begin := time.Now()

	first := w.start(t)
	waitFor(t, "every fixture name uploaded", 90*time.Second, first, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), want)
	})
	t.Logf("first start: %d certificates issued and uploaded in %s", len(want), time.Since(begin).Round(time.Millisecond))
	for _, name := range fixtureNames {
		pem, _ := w.DFP.Cert(name + ".pem")
		b, err := bundle.Parse(pem)
		if err != nil {
			t.Fatalf("%s: uploaded bundle: %v", name, err)
		}
		if err := b.Check(name, time.Now()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		inter := x509.NewCertPool()
		for _, c := range b.Chain {
			inter.AddCert(c)
		}
		if _, err := b.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: w.CA.IssuerRoots(), Intermediates: inter}); err != nil {
			t.Errorf("%s: does not chain to Pebble's root: %v", name, err)
		}
	}
	if p := w.DFP.Poisoned(); len(p) != 0 {
		t.Errorf("DFP was sent PEMs HAProxy cannot load: %v", p)
	}
	for _, u := range w.DFP.Uploads() {
		if u.Distribute {
			t.Errorf("upload of %s used distribute=true although the stand-in is not in Swarm", u.CertName)
		}
	}
	if n := len(first.logs.Events(event.DistributeDisabled)); n != 1 {
		t.Errorf("distribute_disabled logged %d times, want once", n)
	}
	waitFor(t, "every upload checked on the proxy's TLS port", 10*time.Second, first, func() bool {
		return len(first.logs.Events(event.CertificateServed)) == len(fixtureNames)
	})
	if n := len(first.logs.Events(event.CertificateNotServed)); n != 0 {
		t.Errorf("%d uploads not served", n)
	}
	if n := len(first.logs.Events(event.AccountRegistered)); n != 1 {
		t.Errorf("account_registered logged %d times, want once", n)
	}
	skipped := first.logs.Events(event.DomainSkipped)
	if len(skipped) != 1 || skipped[0]["host"] != ".wild.test" {
		t.Errorf("domain_skipped = %v, want only the wildcard .wild.test", skipped)
	}
	if ex := first.logs.Events(event.DomainExcluded); len(ex) != 1 || ex[0]["domain"] != "late.test" {
		t.Errorf("domain_excluded = %v, want late.test", ex)
	}
	first.shutdown(t)

	// DFP restarted without a /certs volume: it lists no services and holds no certificates.
	w.DFP.Restart(false)
	second := w.start(t)
	waitFor(t, "stored certificates uploaded again", 30*time.Second, second, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), want)
	})
	second.shutdown(t)
	if n := len(second.logs.Events(event.IssuanceStarted)); n != 0 {
		t.Errorf("second start ordered %d certificates, want none", n)
	}
	if n := len(second.logs.Events(event.AccountRegistered)); n != 0 {
		t.Errorf("second start registered a new account")
	}
	if n := len(second.logs.Events(event.CertificateLoaded)); n != len(fixtureNames) {
		t.Errorf("second start loaded %d stored certificates, want %d", n, len(fixtureNames))
	}
	if n := len(second.logs.Events(event.ShutdownComplete)); n != 1 {
		t.Errorf("shutdown_complete logged %d times", n)
	}
}

// A name that cannot validate fails with a retry time, the failure is remembered on disk, and a
// restart waits for that time instead of ordering again.
func TestFailedOrderIsRememberedAcrossRestart(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"dead.test"}})
	onlyDomains(w, "dead.test,alive.test")
	w.Env["PREFLIGHT"] = "false" // let the CA's validation be what fails

	first := w.start(t)
	waitFor(t, "the dead name to fail and the live one to be served", 60*time.Second, first, func() bool {
		_, ok := w.DFP.Cert("alive.test.pem")
		return ok && len(first.logs.Events(event.IssuanceFailed)) == 1
	})
	failed := first.logs.Events(event.IssuanceFailed)[0]
	retryAt, err := time.Parse(time.RFC3339, failed["retry_at"].(string))
	if err != nil || failed["domain"] != "dead.test" || failed["failures"] != float64(1) {
		t.Fatalf("issuance_failed = %v", failed)
	}
	if d := time.Until(retryAt); d < 50*time.Second || d > 70*time.Second {
		t.Errorf("first retry in %s, want about a minute", d)
	}
	first.shutdown(t)

	second := w.start(t)
	waitFor(t, "the restart to wait for the retry time", 30*time.Second, second, func() bool {
		return len(second.logs.Events(event.IssuanceWaiting)) == 1
	})
	second.shutdown(t)
	for _, e := range second.logs.Events(event.IssuanceStarted) {
		t.Errorf("restart ordered %v again before its retry time", e["domain"])
	}
	if _, ok := w.DFP.Cert("dead.test.pem"); ok {
		t.Error("DFP holds a certificate for the name that never validated")
	}
}

// A name whose probe does not come back through the proxy, or that does not resolve, is never
// ordered: the CA sees no order, and the failure backs off like a failed order.
func TestPreflightKeepsUnroutableNamesFromTheCA(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"nxdomain.test"}})
	w.DFP.Restart(false)
	w.Frontend.Misroute("misrouted.test")
	w.Env["DOMAINS"] = "misrouted.test,nxdomain.test"

	r := w.start(t)
	waitFor(t, "both names to fail pre-flight", 30*time.Second, r, func() bool {
		return len(r.logs.Events(event.PreflightFailed)) == 2
	})
	r.shutdown(t)
	if n := w.CA.Orders(); n != 0 {
		t.Errorf("the CA received %d orders, want none", n)
	}
	for _, e := range r.logs.Events(event.PreflightFailed) {
		if e["retry_at"] == nil || e["failures"] != float64(1) {
			t.Errorf("preflight_failed without a retry time or failure count: %v", e)
		}
	}
}

// The CA's rateLimited answer holds every order until its Retry-After, then orders resume.
func TestCARateLimitIsObeyed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "limited.test")
	w.CA.RateLimitNextOrders(1, 3*time.Second)

	r := w.start(t)
	waitFor(t, "the certificate after the limit passed", 60*time.Second, r, func() bool {
		_, ok := w.DFP.Cert("limited.test.pem")
		return ok
	})
	r.shutdown(t)
	limited := r.logs.Events(event.RateLimited)
	if len(limited) != 1 || limited[0]["limit"] != string(messages.LimitNewOrders) {
		t.Fatalf("rate_limited = %v, want one, naming new_orders_per_account", limited)
	}
	retryAt := logTime(t, limited[0], "retry_at")
	var orderedAt []time.Time
	for _, e := range r.logs.Events(event.IssuanceStarted) {
		at := logTime(t, e, "time")
		orderedAt = append(orderedAt, at)
	}
	if len(orderedAt) != 2 {
		t.Fatalf("ordered %d times, want 2 (refused, then after the limit)", len(orderedAt))
	}
	if orderedAt[1].Before(retryAt.Add(-time.Second)) {
		t.Errorf("ordered again at %s, before the CA's time %s", orderedAt[1], retryAt)
	}
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("Pebble received %d orders, want exactly the one after the limit", n)
	}
}

// The rate-limit ledger survives restarts: a name whose certificate keeps getting lost is issued
// only as often as the exact-set limit allows (5 a week, 4 with the 10% margin), however often the
// service restarts; then it is deferred, and the CA sees no order.
func TestLedgerSurvivesRestartsAndHoldsTheExactSetLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "lost.test")
	w.Env["RATE_LIMITS"] = "production"
	bundle := filepath.Join(w.Env["DATA_DIR"], "certificates", store.CAKey(w.CA.DirectoryURL), "lost.test", "bundle.pem")

	for i := 1; i <= 4; i++ {
		r := w.start(t)
		waitFor(t, fmt.Sprintf("certificate %d", i), 30*time.Second, r, func() bool {
			return len(r.logs.Events(event.CertificateObtained)) == 1
		})
		r.shutdown(t)
		if err := os.Remove(bundle); err != nil { // the certificate is lost; the ledger is not
			t.Fatal(err)
		}
		w.DFP.Restart(false) // and DFP lost it too, or the next start would take it back from there
	}
	orders := w.CA.Orders()
	r := w.start(t)
	waitFor(t, "the fifth order to be deferred", 30*time.Second, r, func() bool {
		return len(r.logs.Events(event.IssuanceDeferred)) == 1
	})
	r.shutdown(t)
	deferred := r.logs.Events(event.IssuanceDeferred)[0]
	if deferred["limit"] != string(messages.LimitCertificatesPerExactSet) {
		t.Errorf("deferred by %v, want certificates_per_exact_set", deferred["limit"])
	}
	if at := logTime(t, deferred, "retry_at"); time.Until(at) < 30*time.Hour {
		t.Errorf("deferred only until %s; the exact-set bucket refills one per 37 h with the margin", at)
	}
	if w.CA.Orders() != orders {
		t.Errorf("the CA received an order past the limit")
	}
}

// DFP restarts without a /certs volume while the service runs: every certificate is back within a
// reconcile interval (a poisoned file is overwritten too), nothing is issued, and the empty
// service list starts no removal clock even when it lasts longer than the grace period.
func TestReconcileRestoresDFPAfterItsRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["RECONCILE_INTERVAL"] = "2s"
	w.Env["REMOVED_GRACE"] = "1s"
	want := certFiles(fixtureNames)
	r := w.start(t)
	waitFor(t, "every fixture name uploaded", 90*time.Second, r, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), want)
	})
	issued := len(r.logs.Events(event.CertificateObtained))

	w.DFP.Restart(false)
	w.DFP.PutRaw("example.test.pem", []byte("not a pem")) // a poisoned file left behind
	time.Sleep(3 * time.Second)                           // longer than REMOVED_GRACE with DFP empty
	waitFor(t, "every certificate back in DFP", 10*time.Second, r, func() bool {
		if !reflect.DeepEqual(w.DFP.CertNames(), want) {
			return false
		}
		pem, _ := w.DFP.Cert("example.test.pem")
		_, err := bundle.Parse(pem)
		return err == nil
	})
	r.shutdown(t)
	if n := len(r.logs.Events(event.CertificateObtained)); n != issued {
		t.Errorf("%d certificates issued after DFP's restart, want none", n-issued)
	}
	if removed := r.logs.Events(event.DomainRemoved); len(removed) != 0 {
		t.Errorf("an empty DFP started removal clocks: %v", removed)
	}
	if len(r.logs.Events(event.ReconcileUpload)) < len(fixtureNames) {
		t.Errorf("reconcile_upload logged %d times, want one per name", len(r.logs.Events(event.ReconcileUpload)))
	}
}

// A service removed from DFP (while DFP still lists others) stops being renewed after the grace
// period, with one line per name; its certificate files stay.
func TestRemovedServiceStopsBeingRenewedAfterGrace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["REMOVED_GRACE"] = "2s"
	r := w.start(t)
	waitFor(t, "every fixture name uploaded", 90*time.Second, r, func() bool {
		return len(w.DFP.CertNames()) == len(fixtureNames)
	})
	w.DFP.RemoveService("web")
	waitFor(t, "web's names removed", 20*time.Second, r, func() bool {
		return len(r.logs.Events(event.DomainRemoved)) == 2
	})
	r.shutdown(t)
	var removed []string
	for _, e := range r.logs.Events(event.DomainRemoved) {
		removed = append(removed, e["domain"].(string))
	}
	sort.Strings(removed)
	if !reflect.DeepEqual(removed, []string{"example.test", "www.example.test"}) {
		t.Errorf("removed %v, want web's example.test and www.example.test", removed)
	}
	bundle := filepath.Join(w.Env["DATA_DIR"], "certificates", store.CAKey(w.CA.DirectoryURL), "example.test", "bundle.pem")
	if _, err := os.Stat(bundle); err != nil {
		t.Errorf("a removed name's files must stay: %v", err)
	}
}

// An operator's "retry now" skips the backoff of a failing name at the next discovery poll.
func TestRetryNowSkipsTheBackoff(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"dead.test"}})
	onlyDomains(w, "dead.test")
	w.Env["PREFLIGHT"] = "false"
	r := w.start(t)
	waitFor(t, "the first failure", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceFailed)) == 1 })
	if err := store.RequestRetry(w.Env["DATA_DIR"], "dead.test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retry", 20*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceStarted)) == 2 })
	r.shutdown(t)
	if n := len(r.logs.Events(event.RetryRequested)); n != 1 {
		t.Errorf("retry_requested logged %d times, want once", n)
	}
}
