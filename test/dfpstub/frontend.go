package dfpstub

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Frontend stands in for HAProxy's port 80 with the ACME companion registered as dfp-api.md f
// describes: /.well-known/acme-challenge/ for every Host goes to the companion, before any other
// rule. Hosts marked Misrouted answer 503, as a name whose DNS points at another server would.
type Frontend struct {
	server   *http.Server
	listener net.Listener

	mu        sync.Mutex
	misrouted map[string]bool
	backend   *httputil.ReverseProxy
}

// StartFrontend listens on addr ("127.0.0.1:0" for any port) and forwards challenges to companion
// (host:port).
func StartFrontend(addr, companion string) (*Frontend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &Frontend{listener: ln, misrouted: map[string]bool{}}
	f.SetBackend(companion)
	f.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		f.mu.Lock()
		misrouted, backend := f.misrouted[host], f.backend
		f.mu.Unlock()
		if misrouted || !strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		backend.ServeHTTP(w, r)
	})}
	go func() { _ = f.server.Serve(ln) }()
	return f, nil
}

// Addr is where the frontend listens.
func (f *Frontend) Addr() string { return f.listener.Addr().String() }

// SetBackend routes challenges to another companion (host:port), as re-registering it would.
func (f *Frontend) SetBackend(companion string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backend = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: companion})
}

// Misroute makes host's requests fail as if its DNS pointed elsewhere.
func (f *Frontend) Misroute(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.misrouted[host] = true
}

// Close stops the frontend.
func (f *Frontend) Close() { _ = f.server.Close() }
