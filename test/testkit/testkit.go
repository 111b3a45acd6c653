// Package testkit is what unit tests share: a log sink that can be searched, a polling wait, and
// parsed certificate bundles from a throwaway CA. It links neither Pebble nor the end-to-end
// harness, so a unit test that uses it stays a unit test.
package testkit

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// LogBuffer collects the service's JSON log lines; safe for the concurrent writes slog makes.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Events returns every decoded log record whose event is name ("" for all).
func (b *LogBuffer) Events(name event.Name) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(b.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if name == "" || rec["event"] == string(name) {
			out = append(out, rec)
		}
	}
	return out
}

// String is the whole log.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Patience is how long Eventually waits: generous, since a loaded two-core CI machine running
// the race detector is many times slower than a laptop, and a passing wait returns at once.
const Patience = 10 * time.Second

// Eventually polls cond until it holds and fails the test after Patience, printing the log (logs
// may be nil) so that the failure says what the code did instead.
func Eventually(t testing.TB, what string, logs *LogBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			if logs == nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Must returns a function that hands back v or fails the test on err:
// Must[*certgen.CA](t)(certgen.NewCA("x")).
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Bundle is a parsed bundle for names from ca, valid from notBefore to notAfter.
func Bundle(t testing.TB, ca *certgen.CA, names []string, notBefore, notAfter time.Time) *bundle.Bundle {
	t.Helper()
	pem, err := ca.Bundle(names, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// HangingServer answers no request: each waits until its client gives up, or until the test ends
// (released before the server closes, which waits for its handlers).
func HangingServer(t testing.TB) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // cleanups run last first: this before Close
	return srv
}
