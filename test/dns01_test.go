package test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// withDNS01 points the service at lego's real httpreq provider, whose API (a stand-in on
// loopback) writes TXT records into the CA's DNS; lego checks propagation there too. The test DNS
// answers no SOA, so the check against the zone's authoritative servers is off, as lego's own tests
// do it.
func withDNS01(t *testing.T, w *World) *testca.DNSAPI {
	t.Helper()
	api := w.CA.StartDNSAPI()
	t.Cleanup(api.Close)
	w.Env["DNS_PROVIDER"] = "httpreq"
	w.Env["HTTPREQ_ENDPOINT"] = api.URL()
	w.Env["HTTPREQ_POLLING_INTERVAL"] = "1"
	w.Env["HTTPREQ_PROPAGATION_TIMEOUT"] = "30"
	w.Env["DNS_RESOLVERS"] = w.CA.DNSAddr
	w.Env["DNS_PROPAGATION_DISABLE_ANS"] = "true"
	return api
}

func domainEvents(logs *testkit.LogBuffer, name event.Name, domain string) []map[string]any {
	var out []map[string]any
	for _, e := range logs.Events(name) {
		if e["domain"] == domain {
			out = append(out, e)
		}
	}
	return out
}

// From the built binary: DFP's mangled wildcard ".wild.test" is issued as *.wild.test by DNS-01,
// uploaded as _wildcard.wild.test.pem; a name in DNS01_DOMAINS whose HTTP route is dead (it does not
// even resolve) is issued by DNS-01; every other name still goes through HTTP-01; each name is
// ordered once.
func TestBinaryIssuesWildcardsAndDNS01DomainsByDNS01(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"dead.test"}})
	api := withDNS01(t, w)
	w.Env["DOMAINS"] = "vpn.dead.test"
	w.Env["DNS01_DOMAINS"] = "*.dead.test"
	w.Env["LOG_LEVEL"] = "info"
	_, logs := startBinary(t, bin, w)

	want := []string{"_wildcard.wild.test.pem", "vpn.dead.test.pem", "example.test.pem", "www.example.test.pem",
		"a.multi.test.pem", "b.multi.test.pem", "api.multi.test.pem", "old.multi.test.pem", "dsvc.test.pem"}
	eventuallyLogged(t, "every name in DFP", 120*time.Second, logs, func() bool {
		for _, f := range want {
			if _, ok := w.DFP.Cert(f); !ok {
				return false
			}
		}
		return true
	})
	now := time.Now()
	for name, file := range map[string]string{"*.wild.test": "_wildcard.wild.test.pem", "vpn.dead.test": "vpn.dead.test.pem"} {
		pem, _ := w.DFP.Cert(file)
		b, err := bundle.Parse(pem)
		if err == nil {
			err = b.Check(name, now)
		}
		if err != nil {
			t.Errorf("%s in DFP: %v", file, err)
			continue
		}
		if len(b.Leaf.DNSNames) != 1 || b.Leaf.DNSNames[0] != name {
			t.Errorf("%s covers %v, want exactly %s", file, b.Leaf.DNSNames, name)
		}
	}
	if n := api.Presents(); n != 2 {
		t.Errorf("the DNS provider wrote %d records, want 2 (the wildcard and vpn.dead.test; the rest is HTTP-01)", n)
	}
	if n := w.CA.Orders(); n != int64(len(want)) {
		t.Errorf("Pebble saw %d orders for %d names", n, len(want))
	}
	if skipped := logs.Events(event.DomainSkipped); len(skipped) != 0 {
		t.Errorf("hosts skipped with DNS-01 on: %v", skipped)
	}
	started := domainEvents(logs, event.IssuanceStarted, "*.wild.test")
	obtained := domainEvents(logs, event.CertificateObtained, "*.wild.test")
	if len(started) != 1 || len(obtained) != 1 {
		t.Fatalf("the wildcard was ordered %d times and obtained %d times, want once each", len(started), len(obtained))
	}
	t.Logf("the wildcard took %s from order to certificate (DNS-01 at Pebble, lego's propagation check included)",
		logTime(t, obtained[0], "time").Sub(logTime(t, started[0], "time")))
}

// A DNS provider that fails (its API answers 500) fails the order once, and the name backs off: no
// second order inside the backoff. A name whose challenge record the resolvers cannot answer for
// (SERVFAIL) fails the pre-flight and is never ordered.
func TestBinaryFailingDNSProviderBacksOff(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorld(t)
	api := withDNS01(t, w)
	api.Fail(true)
	w.CA.Records.AddDNSServFailRecord("_acme-challenge.servfail.test")
	onlyDomains(w, "*.fail.test,*.servfail.test")
	w.Env["LOG_LEVEL"] = "info"
	_, logs := startBinary(t, bin, w)

	eventuallyLogged(t, "the failed order and the failed pre-flight", 60*time.Second, logs, func() bool {
		return len(domainEvents(logs, event.IssuanceFailed, "*.fail.test")) == 1 &&
			len(domainEvents(logs, event.PreflightFailed, "*.servfail.test")) == 1
	})
	failed := domainEvents(logs, event.IssuanceFailed, "*.fail.test")[0]
	if msg, _ := failed["error"].(string); !strings.Contains(msg, "httpreq") {
		t.Errorf("the failure does not name the provider: %q", msg)
	}
	if retryAt := logTime(t, failed, "retry_at"); retryAt.Before(logTime(t, failed, "time").Add(30 * time.Second)) {
		t.Errorf("retry at %s, within 30s of the failure", retryAt)
	}
	time.Sleep(5 * time.Second) // long enough for a retry loop to show
	if n := len(domainEvents(logs, event.IssuanceStarted, "*.fail.test")); n != 1 {
		t.Errorf("*.fail.test ordered %d times inside its backoff, want 1", n)
	}
	if n := len(domainEvents(logs, event.IssuanceStarted, "*.servfail.test")); n != 0 {
		t.Errorf("*.servfail.test ordered %d times after a failed pre-flight, want 0", n)
	}
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("Pebble saw %d orders, want 1", n)
	}
}

// runToExit runs the binary until it exits (or timeout) and returns its exit status and output.
func runToExit(t *testing.T, bin string, env map[string]string, timeout time.Duration) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// A CA that requires External Account Binding: without a binding, or with a wrong key, the start
// stops with one line naming the variables and status 2; with the right one the account is
// registered with it and names are issued; a CA that cannot be reached is no such answer.
func TestBinaryExternalAccountBinding(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	const kid, key = "kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
	w := newWorldWith(t, testca.Options{EAB: map[string]string{kid: key}})
	onlyDomains(w, "eab.test")

	for _, c := range []struct{ name, kid, hmac string }{
		{"no binding", "", ""},
		{"wrong key", kid, "AAAA" + key[4:]},
		{"unknown key id", "kid-2", key},
	} {
		env := map[string]string{}
		for k, v := range w.Env {
			env[k] = v
		}
		if c.kid != "" {
			env["ACME_EAB_KID"], env["ACME_EAB_HMAC"] = c.kid, c.hmac
		}
		code, _, stderr := runToExit(t, bin, env, 60*time.Second)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "config: ACME_EAB_KID, ACME_EAB_HMAC: ") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line naming ACME_EAB_KID, ACME_EAB_HMAC", c.name, code, stderr)
		}
	}
	if n := w.CA.Orders(); n != 0 {
		t.Fatalf("%d orders without an account", n)
	}

	// A CA that cannot be reached at start: the service runs, says it asks again, and registers the
	// account once the CA answers.
	gate := newGate(t, w.CA.DirectoryURL)
	down := map[string]string{}
	for k, v := range w.Env {
		down[k] = v
	}
	down["ACME_DIRECTORY"] = gate.URL + "/dir"
	down["ACME_EAB_KID"], down["ACME_EAB_HMAC"] = kid, key
	down["DATA_DIR"] = t.TempDir()
	down["DOMAINS"] = "" // no name: no order registers the account, only the service asking again
	down["LOG_LEVEL"] = "info"
	w.Env, down = down, w.Env
	downCmd, downLogs := startBinary(t, bin, w)
	w.Env = down
	eventuallyLogged(t, "the start despite the CA", 30*time.Second, downLogs, func() bool {
		return len(downLogs.Events(event.AccountCheckFailed)) >= 1 && len(downLogs.Events(event.ServiceStarted)) == 1
	})
	if n := len(downLogs.Events(event.AccountRegistered)); n != 0 {
		t.Fatalf("%d accounts registered at a CA that does not answer", n)
	}
	gate.open.Store(true)
	eventuallyLogged(t, "the account once the CA answers", 30*time.Second, downLogs, func() bool {
		return len(downLogs.Events(event.AccountRegistered)) == 1
	})
	_ = downCmd.Process.Kill() // it holds the world's ports
	_ = downCmd.Wait()

	w.Env["ACME_EAB_KID"], w.Env["ACME_EAB_HMAC"] = kid, key
	w.Env["LOG_LEVEL"] = "info"
	_, logs := startBinary(t, bin, w)
	eventuallyLogged(t, "eab.test in DFP", 60*time.Second, logs, func() bool {
		_, ok := w.DFP.Cert("eab.test.pem")
		return ok
	})
	reg := logs.Events(event.AccountRegistered)
	if len(reg) != 1 || reg[0]["external_account_binding"] != true {
		t.Errorf("account_registered = %v, want one with external_account_binding true", reg)
	}
}

// A provider lego cannot build (its variables missing) stops the start with one line naming
// DNS_PROVIDER and what lego missed; one the default build lacks, or an unknown code, with one line
// naming the build that has every provider.
func TestBinaryDNSProviderWithoutItsVariablesStops(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	for provider, want := range map[string]string{"cloudflare": "CLOUDFLARE_DNS_API_TOKEN", "gcloud": "TAGS=allproviders", "no-such-dns": "TAGS=allproviders"} {
		code, stdout, stderr := runToExit(t, bin, map[string]string{"PROXY_ADDRESS": "proxy", "DNS_PROVIDER": provider, "DATA_DIR": t.TempDir()}, 30*time.Second)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "config: DNS_PROVIDER: ") || !strings.Contains(lines[0], want) || stdout != "" {
			t.Errorf("exit %d, stderr %q, stdout %q; want 2 and one line naming DNS_PROVIDER and %s", code, stderr, stdout, want)
		}
	}
}

// gate stands in front of a CA's directory: 503 until open, then the CA's own directory (whose URLs
// lead to the CA itself). httptest's TLS certificate is the same for every server, so the
// service trusts it as it trusts Pebble's.
type gate struct {
	*httptest.Server
	open atomic.Bool
}

func newGate(t *testing.T, directoryURL string) *gate {
	t.Helper()
	g := &gate{}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test's own CA
	g.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.open.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		resp, err := client.Get(directoryURL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(g.Close)
	return g
}
