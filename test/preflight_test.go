package test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
