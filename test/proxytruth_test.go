package test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	readmodel "github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// notServedNow lists the fixture names whose certificate the proxy's TLS port does not present:
// none loaded, or another one than the file DFP holds for the name.
func notServedNow(w *World) []string {
	var out []string
	for _, name := range fixtureNames {
		pem, ok := w.DFP.Cert(name + ".pem")
		b, err := bundle.Parse(pem)
		if !ok || err != nil {
			out = append(out, name)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		got, err := proxyapi.ServedFingerprint(ctx, w.TLS.Addr(), name)
		cancel()
		if err != nil || got != b.Fingerprint() {
			out = append(out, name)
		}
	}
	return out
}

// afterWatch waits until the service's watch has just asked the proxy's TLS port, so that what
// follows happens at the start of a watch interval: the phase in which a loss goes unseen longest.
func afterWatch(t *testing.T, w *World) {
	t.Helper()
	before := w.TLS.Accepted()
	deadline := time.Now().Add(30 * time.Second)
	for w.TLS.Accepted() == before {
		if time.Now().After(deadline) {
			t.Fatal("no handshake on the proxy's port within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the rest of the round
}

// afterPoll waits until discovery has just read DFP's services, so that what follows happens at
// the start of a discovery interval: the phase in which a lost proxy used to go unseen longest.
func afterPoll(t *testing.T, w *World) {
	t.Helper()
	reads := w.DFP.ConfigReads()
	deadline := time.Now().Add(30 * time.Second)
	for w.DFP.ConfigReads() == reads {
		if time.Now().After(deadline) {
			t.Fatal("no discovery poll within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// statusNow is the running service's status report, as "provisioner status --json" gets it.
func statusNow(t *testing.T, w *World) readmodel.StatusReport {
	t.Helper()
	path := "/status"
	if token := w.Env["NOTIFY_TOKEN"]; token != "" {
		path += "?token=" + token
	}
	resp, err := http.Get("http://" + w.Env["METRICS_ADDR"] + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readmodel.StatusReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/status: %v", err)
	}
	return r
}

func nameStatus(r readmodel.StatusReport, name string) readmodel.NameStatus {
	for _, n := range r.Names {
		if n.Name == name {
			return n
		}
	}
	return readmodel.NameStatus{}
}

const watchInterval = 4 * time.Second

// A DFP restarted without its /certs volume, its services back before any poll could see the
// empty list, right after a poll, with RECONCILE_INTERVAL at its default (5m): the watch notices
// within one discovery interval, and every name is served again after the uploads, with no order
// and no GET /certs on every poll. Then one file lost without a restart is noticed too, and while
// DFP refuses it, /readyz, /metrics and status say the name is not served.
func TestWipedProxyIsServedAgainWithinOneDiscoveryInterval(t *testing.T) {
	t.Parallel()
	hook, received := recordWebhook(t)
	alerted := func(name, state string) bool {
		for _, a := range received() {
			if a["name"] == name && a["kind"] == "not_served" && a["state"] == state {
				return true
			}
		}
		return false
	}
	w := newWorld(t)
	w.Env["DISCOVERY_INTERVAL"] = watchInterval.String()
	w.Env["ALERT_WEBHOOK_URL"] = hook
	r := w.start(t)
	waitFor(t, "every fixture name served", 90*time.Second, r, func() bool { return len(notServedNow(w)) == 0 })
	issued := len(r.logs.Events(event.CertificateObtained))

	listings := w.DFP.CertListings()
	polls := w.DFP.ConfigReads()
	time.Sleep(3 * watchInterval)
	if got, p := w.DFP.CertListings()-listings, w.DFP.ConfigReads()-polls; got > 0 || p < 2 {
		t.Fatalf("%d GET /certs over %d quiet polls, want none (and at least 2 polls)", got, p)
	}

	measure := func(phase func(*testing.T, *World), what string) {
		phase(t, w)
		wiped := time.Now()
		w.DFP.Wipe()
		waitFor(t, "every name served again after the wipe "+what, watchInterval+20*time.Second, r, func() bool { return len(notServedNow(w)) == 0 })
		t.Logf("wiped %s: every name served again in %s", what, time.Since(wiped).Round(10*time.Millisecond))
		time.Sleep(4 * time.Second) // the uploads' own serve checks (3 s after each) are done
	}
	measure(afterPoll, "right after a poll")
	measure(afterWatch, "right after a watch round")
	if lost := r.logs.Events(event.ProxyLostCertificates); len(lost) != 2 {
		t.Errorf("proxy_lost_certificates logged %d times, want once per wipe", len(lost))
	}
	if n := len(r.logs.Events(event.CertificateObtained)); n != issued {
		t.Errorf("%d certificates ordered after the wipe, want none", n-issued)
	}

	// One file lost without a restart, and DFP refusing it for now.
	w.DFP.SetFaults(dfpstub.Faults{RefuseCert: "b.multi.test.pem"})
	afterPoll(t, w)
	w.DFP.Lose("b.multi.test.pem")
	waitFor(t, "the lost name reported not served", watchInterval+5*time.Second, r, func() bool {
		return nameStatus(statusNow(t, w), "b.multi.test").State == readmodel.StateNotServed
	})
	if code, body := check(t, w, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body["checks"].(map[string]any)["proxy"].(string), "b.multi.test") {
		t.Errorf("/readyz = %d %v while b.multi.test is not served, want 503 naming it", code, body)
	}
	families := scrape(t, w)
	for family, want := range map[string]float64{"dfp_letsencrypt_certificate_served_status": 0, "dfp_letsencrypt_certificate_ready_status": 0} {
		if v, ok := value(families, family, map[string]string{"name": "b.multi.test"}); !ok || v != want {
			t.Errorf("%s{name=b.multi.test} = %v (present %v) while not served, want %v", family, v, ok, want)
		}
	}
	if v, _ := value(families, "dfp_letsencrypt_certificate_served_status", map[string]string{"name": "a.multi.test"}); v != 1 {
		t.Errorf("certificate_served_status{name=a.multi.test} = %v, want 1", v)
	}
	waitFor(t, "the webhook told of b.multi.test not served", 10*time.Second, r, func() bool { return alerted("b.multi.test", "trouble") })
	w.DFP.SetFaults(dfpstub.Faults{})
	waitFor(t, "the lost name served again", 30*time.Second, r, func() bool { return len(notServedNow(w)) == 0 })
	waitFor(t, "status and /readyz agreeing", 10*time.Second, r, func() bool {
		code, _ := check(t, w, "/readyz")
		return code == http.StatusOK && nameStatus(statusNow(t, w), "b.multi.test").Served == "served"
	})
	waitFor(t, "the webhook told of b.multi.test served again", 10*time.Second, r, func() bool { return alerted("b.multi.test", "recovered") })
}

// A DFP restarted without its volume that lists no services for 5 s, right after a poll, with a
// discovery interval longer than that window: no poll sees the empty list, and the watch notices
// within one interval.
func TestRestartedProxyUnseenByPollsIsServedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["DISCOVERY_INTERVAL"] = (3 * watchInterval).String()
	r := w.start(t)
	waitFor(t, "every fixture name served", 90*time.Second, r, func() bool { return len(notServedNow(w)) == 0 })

	afterPoll(t, w)
	restarted := time.Now()
	w.DFP.Restart(false)
	go func() {
		time.Sleep(5 * time.Second)
		_ = w.DFP.Register(dfpstub.Fixture)
	}()
	waitFor(t, "every name served again after the restart", 3*watchInterval+20*time.Second, r, func() bool { return len(notServedNow(w)) == 0 })
	t.Logf("restarted right after a poll, empty for 5 s: every name served again in %s", time.Since(restarted).Round(10*time.Millisecond))
	if empty := r.logs.Events(event.DiscoveryEmpty); len(empty) != 0 {
		t.Errorf("a poll saw the empty list (%v): this test no longer shows the watch noticing alone", empty)
	}
}

// With polling set to an hour, a new name that cannot validate is listed by status and /metrics
// within seconds of the listener's notification, with its pre-flight failure; and retry-now on
// the running service is acted on at once, not at the next poll.
func TestDeadNewNameAndRetryNowAreSeenAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, testca.Options{Unresolvable: []string{"dead.test"}})
	w.Env["DISCOVERY_INTERVAL"] = "1h"
	r := w.start(t)
	waitFor(t, "every fixture name served", 90*time.Second, r, func() bool { return len(notServedNow(w)) == 0 })

	register(t, w, "dead", "dead.test")
	notified := time.Now()
	notify(t, w, "create", "dead")
	waitFor(t, "dead.test listed as failing by status", 10*time.Second, r, func() bool {
		n := nameStatus(statusNow(t, w), "dead.test")
		return n.State == readmodel.StateFailing && strings.Contains(n.LastError, "dead.test")
	})
	t.Logf("a dead new name listed by status %s after the notification", time.Since(notified).Round(10*time.Millisecond))
	if v, ok := value(scrape(t, w), "dfp_letsencrypt_certificate_failures", map[string]string{"name": "dead.test"}); !ok || v != 1 {
		t.Errorf("certificate_failures{name=dead.test} = %v (present %v), want 1", v, ok)
	}

	if err := store.RequestRetry(w.Env["DATA_DIR"], "dead.test"); err != nil {
		t.Fatal(err)
	}
	if err := opsport.PokeRetry(context.Background(), w.Getenv); err != nil {
		t.Fatalf("the running service did not take the retry: %v", err)
	}
	waitFor(t, "the retry acted on", 10*time.Second, r, func() bool {
		return len(r.logs.Events(event.RetryRequested)) == 1 && len(r.logs.Events(event.PreflightFailed)) == 2
	})
}
