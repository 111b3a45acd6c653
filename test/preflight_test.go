package test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// The pre-flight takes the CA's route. A name whose DNS points at another server (which answers
// 404) is not ordered, although the probe through the proxy would pass. A name whose address this
// network cannot reach (hairpin NAT: here, our resolver's answer has nothing listening) falls back
// to the probe through the proxy, is ordered, and the CA validates it.
func TestPreflightTakesTheCARoute(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testca.Options{Addresses: map[string]string{"wrong.test": "127.0.0.2"}})
	port := strconv.Itoa(w.CA.ChallengePort())
	other, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", port))
	if err != nil {
		t.Fatalf("cannot listen on 127.0.0.2 (Linux routes all of 127/8 to loopback): %v", err)
	}
	go func() { _ = http.Serve(other, http.NotFoundHandler()) }() // another server where wrong.test points
	t.Cleanup(func() { other.Close() })
	// Our own resolver: as the CA's, but hairpin.test resolves to an address unreachable from here.
	ours, dns, err := testca.StartDNS(map[string]string{"wrong.test": "127.0.0.2", "hairpin.test": "127.0.0.3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dns.Shutdown() })
	w.Env["PREFLIGHT_RESOLVER"] = ours
	onlyDomains(w, "wrong.test,hairpin.test")

	r := w.start(t)
	waitFor(t, "hairpin.test issued, wrong.test refused by the pre-flight", 60*time.Second, r, func() bool {
		return len(r.logs.Events(event.CertificateObtained)) == 1 && len(r.logs.Events(event.PreflightFailed)) >= 1
	})
	r.shutdown(t)
	for _, e := range r.logs.Events(event.IssuanceStarted) {
		if e["domain"] == "wrong.test" {
			t.Error("wrong.test was ordered: its DNS points at another server")
		}
	}
	failed := r.logs.Events(event.PreflightFailed)[0]
	msg := toString(failed["error"])
	if failed["domain"] != "wrong.test" || !strings.Contains(msg, "127.0.0.2") || !strings.Contains(msg, ours) {
		t.Errorf("preflight_failed = %v, want wrong.test, its address and the resolver asked", failed)
	}
	via := r.logs.Events(event.PreflightViaProxy)
	if len(via) != 1 || via[0]["domain"] != "hairpin.test" {
		t.Errorf("preflight_via_proxy = %v, want hairpin.test once", via)
	}
	if got := r.logs.Events(event.CertificateObtained)[0]["domain"]; got != "hairpin.test" {
		t.Errorf("obtained %v, want hairpin.test", got)
	}
}

// CAA is looked up before anything is ordered, with the CA's identity from its directory
// (Pebble's meta.caaIdentities) and the account's URI from the CA. A name whose CAA names another
// CA, or whose parent's names another account, is refused for free with the record in the line;
// a name whose CAA names this CA is ordered.
func TestCAAForbiddenNamesCostTheCANothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.CA.Records.AddDNSCAARecord("allowed.test", []challtestsrv.CAAPolicy{{Tag: "issue", Value: "pebble.letsencrypt.org"}})
	w.CA.Records.AddDNSCAARecord("forbidden.test", []challtestsrv.CAAPolicy{{Tag: "issue", Value: "sectigo.com"}})
	w.CA.Records.AddDNSCAARecord("account.test", []challtestsrv.CAAPolicy{{Tag: "issue", Value: "pebble.letsencrypt.org; accounturi=https://elsewhere.test/acct/1"}})
	onlyDomains(w, "allowed.test,forbidden.test,www.account.test")

	r := w.start(t)
	waitFor(t, "allowed.test issued, the other two refused by the pre-flight", 60*time.Second, r, func() bool {
		refused := map[any]bool{}
		for _, e := range r.logs.Events(event.PreflightFailed) {
			refused[e["domain"]] = true
		}
		return len(r.logs.Events(event.CertificateObtained)) == 1 && refused["forbidden.test"] && refused["www.account.test"]
	})
	r.shutdown(t)
	for _, e := range r.logs.Events(event.IssuanceStarted) {
		if e["domain"] != "allowed.test" {
			t.Errorf("%v was ordered: its CAA forbids the CA", e["domain"])
		}
	}
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("the CA received %d orders, want 1 (allowed.test)", n)
	}
	want := map[string]string{
		"forbidden.test":   `forbidden.test. CAA 0 issue "sectigo.com" (issue allows only sectigo.com; this CA is pebble.letsencrypt.org)`,
		"www.account.test": `account.test. CAA 0 issue "pebble.letsencrypt.org; accounturi=https://elsewhere.test/acct/1" (it names another ACME account; this one is https://`,
	}
	for _, e := range r.logs.Events(event.PreflightFailed) {
		if w, ok := want[toString(e["domain"])]; ok && !strings.Contains(toString(e["error"]), w) {
			t.Errorf("%s: preflight_failed error %q, want it to contain %q", e["domain"], e["error"], w)
		}
	}
}
