package test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// check GETs an endpoint of the internal port and decodes its answer; 0 while it does not listen.
func check(t *testing.T, w *World, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + w.Env["METRICS_ADDR"] + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, body
}

// /healthz: the actors answer and the responder listens. /readyz: DFP answered within three
// discovery intervals; a DFP outage turns it unready, and its return ready again.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.start(t)
	waitFor(t, "ready", 10*time.Second, r, func() bool { code, _ := check(t, w, "/readyz"); return code == http.StatusOK })
	code, body := check(t, w, "/healthz")
	checks, _ := body["checks"].(map[string]any)
	if code != http.StatusOK || checks["supervisor"] != "ok" || checks["ratelimiter"] != "ok" || checks["responder"] != "ok" {
		t.Fatalf("/healthz = %d %v", code, body)
	}

	if code := status(t, w, "/debug/pprof/heap?debug=1"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/heap = %d without PPROF=true, want 404", code)
	}

	w.DFP.SetDown(true)
	down := time.Now()
	waitFor(t, "unready while DFP is down", 10*time.Second, r, func() bool { code, _ := check(t, w, "/readyz"); return code == http.StatusServiceUnavailable })
	t.Logf("unready %s after DFP went down (DISCOVERY_INTERVAL=1s)", time.Since(down).Round(100*time.Millisecond))
	if code, _ := check(t, w, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while DFP is down; the process itself is alive", code)
	}
	w.DFP.SetDown(false)
	waitFor(t, "ready again", 10*time.Second, r, func() bool { code, _ := check(t, w, "/readyz"); return code == http.StatusOK })
}

// PPROF=true serves Go's profiles on the internal port, for performance reports.
func TestProfilesWhenAsked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["PPROF"] = "true"
	r := w.start(t)
	waitFor(t, "the internal port", 10*time.Second, r, func() bool { return status(t, w, "/healthz") == http.StatusOK })
	resp, err := http.Get("http://" + w.Env["METRICS_ADDR"] + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("/debug/pprof/heap = %d %.100q, want a heap profile", resp.StatusCode, body)
	}
}

// status GETs an endpoint of the internal port and returns its status code; 0 while it does not
// listen.
func status(t *testing.T, w *World, path string) int {
	t.Helper()
	resp, err := http.Get("http://" + w.Env["METRICS_ADDR"] + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
