package test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// register adds a service to the DFP stand-in through its reconfigure API, as the swarm listener
// does to the real DFP.
func register(t *testing.T, w *World, service, domain string) {
	t.Helper()
	q := url.Values{"serviceName": {service}, "serviceDomain": {domain}, "port": {"80"}}
	resp, err := http.Get(w.DFP.URL() + "/v1/docker-flow-proxy/reconfigure?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// notify calls the provisioner's internal port as docker-flow-swarm-listener does.
func notify(t *testing.T, w *World, kind, service string) {
	t.Helper()
	q := url.Values{"serviceName": {service}, "serviceDomain": {service + ".test"}, "port": {"80"}}
	resp, err := http.Get("http://" + w.Env["METRICS_ADDR"] + "/notify/" + kind + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("notify/%s answered %d", kind, resp.StatusCode)
	}
}

// With polling set to an hour, the swarm listener's notification is what brings a new service in:
// it is served within the CA's time plus a few seconds, even when the notification reaches the
// provisioner before DFP has applied the service. A notification for a service DFP never lists
// changes nothing.
func TestSwarmListenerNotificationDiscoversAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "")
	w.Env["DISCOVERY_INTERVAL"] = "1h"
	r := w.start(t)
	waitFor(t, "the first poll", 30*time.Second, r, func() bool { return len(r.logs.Events(event.DiscoveryEmpty)) == 1 })

	begin := time.Now()
	notify(t, w, "create", "fresh") // before DFP lists it: the listener notifies DFP and us at once
	time.Sleep(1500 * time.Millisecond)
	register(t, w, "fresh", "fresh.test")
	listed := time.Now()
	waitFor(t, "fresh.test served", 60*time.Second, r, func() bool {
		for _, e := range r.logs.Events(event.CertificateServed) {
			if e["domain"] == "fresh.test" {
				return true
			}
		}
		return false
	})
	at := func(ev event.Name) time.Duration {
		return logTime(t, r.logs.Events(ev)[0], "time").Sub(listed).Round(10 * time.Millisecond)
	}
	t.Logf("after DFP listed the service (%s after the notification): discovered %s, ordered %s, obtained %s, uploaded %s, served %s",
		listed.Sub(begin).Round(10*time.Millisecond), at(event.DomainDiscovered), at(event.IssuanceStarted),
		at(event.CertificateObtained), at(event.CertificateUploaded), at(event.CertificateServed))
	if d := at(event.DomainDiscovered); d > 1500*time.Millisecond {
		t.Errorf("discovered %s after DFP listed it, want within the hint's 1 s retry", d)
	}

	notify(t, w, "create", "ghost") // DFP never lists it
	time.Sleep(3 * time.Second)
	r.shutdown(t)
	for _, e := range r.logs.Events(event.DomainDiscovered) {
		if e["domain"] != "fresh.test" {
			t.Errorf("a notification became data: %v", e)
		}
	}
	if n := len(r.logs.Events(event.SwarmNotified)); n != 2 {
		t.Errorf("swarm_notified logged %d times, want 2", n)
	}
}

// With NOTIFY_TOKEN set, the internal port's notifications, status and retry need it; a flood of
// notifications costs DFP at most about one GET /config a second, a name longer than any
// service's is refused, and notifications are logged at debug only.
func TestNotificationsNeedTheTokenAndAreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const token = "s3cret-token-0123456789"
	w.Env["NOTIFY_TOKEN"] = token
	w.Env["DISCOVERY_INTERVAL"] = "1h"
	r := w.start(t)
	ops := "http://" + w.Env["METRICS_ADDR"]
	get := func(path string) int {
		resp, err := http.Get(ops + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "the internal port", 30*time.Second, r, func() bool { return get("/healthz") == http.StatusOK })
	for path, want := range map[string]int{
		"/notify/create?serviceName=web":             http.StatusForbidden,
		"/notify/create?serviceName=web&token=wrong": http.StatusForbidden,
		"/status": http.StatusForbidden,
		"/notify/create?serviceName=web&token=" + token:                              http.StatusOK,
		"/status?token=" + token:                                                     http.StatusOK,
		"/notify/create?token=" + token + "&serviceName=" + strings.Repeat("x", 300): http.StatusBadRequest,
	} {
		if got := get(path); got != want {
			t.Errorf("GET %s = %d, want %d", path[:min(len(path), 60)], got, want)
		}
	}

	polls := w.DFP.ConfigReads()
	began := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				get(fmt.Sprintf("/notify/create?token=%s&serviceName=flood%d-%d", token, c, i))
			}
		}()
	}
	wg.Wait()
	time.Sleep(1500 * time.Millisecond) // the last spaced poll
	took := time.Since(began)
	fetched := w.DFP.ConfigReads() - polls
	t.Logf("2,000 notifications in %s: %d GET /config", took.Round(10*time.Millisecond), fetched)
	if limit := int(took/time.Second) + 3; fetched > limit {
		t.Errorf("%d GET /config for 2,000 notifications in %s, want at most %d (one a second, and the hints' own)", fetched, took, limit)
	}
	for _, e := range r.logs.Events(event.SwarmNotified) {
		if e["level"] != "DEBUG" {
			t.Fatalf("a notification logged above debug: %v", e)
		}
	}
}
