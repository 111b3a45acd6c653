package test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// env is a test's environment, read by app.LoadConfig exactly as os.Getenv would be.
type env map[string]string

func (e env) get(k string) string { return e[k] }

type world struct {
	ca      *testca.CA
	dfp     *dfpstub.Stub
	env     env
	dataDir string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, testca.Options{})
}

func newWorldWith(t *testing.T, opts testca.Options) *world {
	t.Helper()
	addr, err := FreeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	port, _ := testca.Port(addr)
	opts.ChallengePort = port
	ca, err := testca.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.Close)
	dfp, err := dfpstub.New(dfpstub.Fixture)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dfp.Close)
	dir := t.TempDir()
	roots := filepath.Join(dir, "pebble-tls.pem")
	if err := os.WriteFile(roots, ca.TLSRootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	return &world{ca: ca, dfp: dfp, dataDir: dataDir, env: env{
		"PROXY_ADDRESS":        dfp.URL(),
		"ACME_DIRECTORY":       ca.DirectoryURL,
		"LEGO_CA_CERTIFICATES": roots,
		"DATA_DIR":             dataDir,
		"CHALLENGE_ADDR":       addr,
		"CERTBOT_EMAIL":        "ops@example.com",
		// The literal quotes are what the seed's compose example leaves in the value.
		"EXCLUDE_DOMAINS":    `"late.test, *.nothing.test"`,
		"DISCOVERY_INTERVAL": "1s",
		"LOG_LEVEL":          "debug",
	}}
}

// running is one start of the real service.
type running struct {
	logs *LogBuffer
	stop context.CancelFunc
	done chan error
}

func (w *world) start(t *testing.T) *running {
	t.Helper()
	cfg, err := app.LoadConfig(w.env.get)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{logs: &LogBuffer{}, done: make(chan error, 1)}
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
	w := newWorld(t)
	want := certFiles(fixtureNames)
	begin := time.Now()

	first := w.start(t)
	waitFor(t, "every fixture name uploaded", 90*time.Second, first, func() bool {
		return reflect.DeepEqual(w.dfp.CertNames(), want)
	})
	t.Logf("first start: %d certificates issued and uploaded in %s", len(want), time.Since(begin).Round(time.Millisecond))
	for _, name := range fixtureNames {
		pem, _ := w.dfp.Cert(name + ".pem")
		b, err := proxyapi.ParseBundle(pem)
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
		if _, err := b.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: w.ca.IssuerRoots(), Intermediates: inter}); err != nil {
			t.Errorf("%s: does not chain to Pebble's root: %v", name, err)
		}
	}
	if p := w.dfp.Poisoned(); len(p) != 0 {
		t.Errorf("DFP was sent PEMs HAProxy cannot load: %v", p)
	}
	for _, u := range w.dfp.Uploads() {
		if u.Distribute {
			t.Errorf("upload of %s used distribute=true although the stand-in is not in Swarm", u.CertName)
		}
	}
	if n := len(first.logs.Events("distribute_disabled")); n != 1 {
		t.Errorf("distribute_disabled logged %d times, want once", n)
	}
	if n := len(first.logs.Events("account_registered")); n != 1 {
		t.Errorf("account_registered logged %d times, want once", n)
	}
	skipped := first.logs.Events("domain_skipped")
	if len(skipped) != 1 || skipped[0]["host"] != ".wild.test" {
		t.Errorf("domain_skipped = %v, want only the wildcard .wild.test", skipped)
	}
	if ex := first.logs.Events("domain_excluded"); len(ex) != 1 || ex[0]["domain"] != "late.test" {
		t.Errorf("domain_excluded = %v, want late.test", ex)
	}
	first.shutdown(t)

	// DFP restarted without a /certs volume: it lists no services and holds no certificates.
	w.dfp.Restart(false)
	second := w.start(t)
	waitFor(t, "stored certificates uploaded again", 30*time.Second, second, func() bool {
		return reflect.DeepEqual(w.dfp.CertNames(), want)
	})
	second.shutdown(t)
	if n := len(second.logs.Events("issuance_started")); n != 0 {
		t.Errorf("second start ordered %d certificates, want none", n)
	}
	if n := len(second.logs.Events("account_registered")); n != 0 {
		t.Errorf("second start registered a new account")
	}
	if n := len(second.logs.Events("certificate_loaded")); n != len(fixtureNames) {
		t.Errorf("second start loaded %d stored certificates, want %d", n, len(fixtureNames))
	}
	if n := len(second.logs.Events("shutdown_complete")); n != 1 {
		t.Errorf("shutdown_complete logged %d times", n)
	}
}

// A name that cannot validate fails with a retry time, the failure is remembered on disk, and a
// restart waits for that time instead of ordering again.
func TestFailedOrderIsRememberedAcrossRestart(t *testing.T) {
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"dead.test"}})
	w.dfp.Restart(false) // no services: only DOMAINS
	w.env["DOMAINS"] = "dead.test,alive.test"

	first := w.start(t)
	waitFor(t, "the dead name to fail and the live one to be served", 60*time.Second, first, func() bool {
		_, ok := w.dfp.Cert("alive.test.pem")
		return ok && len(first.logs.Events("issuance_failed")) == 1
	})
	failed := first.logs.Events("issuance_failed")[0]
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
		return len(second.logs.Events("issuance_waiting")) == 1
	})
	second.shutdown(t)
	for _, e := range second.logs.Events("issuance_started") {
		t.Errorf("restart ordered %v again before its retry time", e["domain"])
	}
	if _, ok := w.dfp.Cert("dead.test.pem"); ok {
		t.Error("DFP holds a certificate for the name that never validated")
	}
}
