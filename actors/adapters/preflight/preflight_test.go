package preflight

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// proxy stands in for DFP's port 80: route decides what happens to a challenge request.
func proxy(t *testing.T, route func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(route))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestProbe(t *testing.T) {
	tokens := webroot.NewTokens()
	responder := webroot.Handler(tokens)
	var sawHost string
	cases := []struct {
		name    string
		route   func(w http.ResponseWriter, r *http.Request)
		wantErr string
	}{
		{"routed to the responder", func(w http.ResponseWriter, r *http.Request) { sawHost = r.Host; responder.ServeHTTP(w, r) }, ""},
		{"redirected to https as HTTPS_ONLY does", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://"+r.Host+r.URL.Path, http.StatusFound)
		}, ""},
		{"answered by the application", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }, "answered 200, not the token"},
		{"not routed", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "answered 404"},
		{"redirected elsewhere", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://example.com/login", http.StatusFound)
		}, "answered 302"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chk := &Checker{ProxyAddr: proxy(t, c.route), Tokens: tokens, Timeout: 5 * time.Second}
			_, err := chk.Check(t.Context(), "localhost")
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error = %v, want %q", err, c.wantErr)
			}
			if tokens.Len() != 0 {
				t.Error("the probe token was left in the responder")
			}
		})
	}
	if sawHost != "localhost" {
		t.Errorf("the probe reached the proxy with Host %q, want the name", sawHost)
	}
}

func TestDNSFailureIsReported(t *testing.T) {
	chk := &Checker{Resolver: NewResolver("127.0.0.1:1"), ProxyAddr: "127.0.0.1:1", Tokens: webroot.NewTokens(), Timeout: 2 * time.Second}
	if _, err := chk.Check(t.Context(), "example.com"); err == nil || !strings.Contains(err.Error(), "look up") {
		t.Fatalf("error = %v, want a lookup failure", err)
	}
}

// At a start every name checks at once; Slots bounds how many probes reach the proxy together.
func TestChecksInFlightAreBounded(t *testing.T) {
	var inFlight, most atomic.Int32
	addr := proxy(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
		http.NotFound(w, r)
	})
	chk := &Checker{ProxyAddr: addr, Tokens: webroot.NewTokens(), Timeout: 5 * time.Second, Slots: semaphore.NewWeighted(3)}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = chk.Check(t.Context(), "localhost")
		}()
	}
	wg.Wait()
	if m := most.Load(); m == 0 || m > 3 {
		t.Fatalf("%d probes reached the proxy at once, want at most 3", m)
	}
}

// The CA's route decides when the name's address answers: with the probe (also after a redirect,
// as DFP's HTTPS_ONLY sends), or without it (another server). When nothing listens there, the
// probe through the proxy decides.
func TestCARoute(t *testing.T) {
	tokens := webroot.NewTokens()
	responder := webroot.Handler(tokens)
	type want struct {
		decidedBy string
		err       string
	}
	cases := []struct {
		name  string
		route http.HandlerFunc // what listens on the name's address; nil: nothing
		want  want
	}{
		{"the address serves the probe", responder.ServeHTTP, want{decidedBy: ByCARoute}},
		{"the address redirects within the name, then serves it", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/moved") {
				r.URL.Path = strings.TrimPrefix(r.URL.Path, "/moved")
				responder.ServeHTTP(w, r)
				return
			}
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusFound)
		}, want{decidedBy: ByCARoute}},
		{"another server answers there", http.NotFound, want{err: "answered 404, not the probe token"}},
		{"nothing listens there (hairpin NAT)", nil, want{decidedBy: ByProxy}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			if c.route != nil {
				srv := &http.Server{Handler: c.route}
				go func() { _ = srv.Serve(ln) }()
				t.Cleanup(func() { srv.Close() })
			} else {
				ln.Close()
			}
			chk := &Checker{ProxyAddr: proxy(t, responder.ServeHTTP), Tokens: tokens, Timeout: 5 * time.Second, HTTPPort: port}
			res, err := chk.Check(t.Context(), "localhost")
			switch {
			case c.want.err != "" && (err == nil || !strings.Contains(err.Error(), c.want.err)):
				t.Fatalf("error = %v, want %q", err, c.want.err)
			case c.want.err == "" && err != nil:
				t.Fatal(err)
			case c.want.err == "" && res.DecidedBy != c.want.decidedBy:
				t.Fatalf("decided by %q, want %q", res.DecidedBy, c.want.decidedBy)
			}
		})
	}
}
