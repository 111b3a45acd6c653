package dfpstub

import (
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Frontend stands in for HAProxy's port 80 with the ACME companion registered as DFP rule F (in
// proxyapi) describes: /.well-known/acme-challenge/ for every Host goes to the companion, before any other
// rule. Hosts marked Misrouted answer 503, as a name whose DNS points at another server would.
type Frontend struct {
	server   *http.Server
	listener net.Listener

	mu        sync.Mutex
	misrouted map[string]bool
	backends  []*httputil.ReverseProxy
	notFound  int // challenges answered 404 by a companion
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
		misrouted, backend := f.misrouted[host], f.backends[rand.IntN(len(f.backends))]
		f.mu.Unlock()
		if misrouted || !strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		backend.ServeHTTP(&statusRecorder{ResponseWriter: w, onStatus: func(code int) {
			if code == http.StatusNotFound {
				f.mu.Lock()
				f.notFound++
				f.mu.Unlock()
			}
		}}, r)
	})}
	go func() { _ = f.server.Serve(ln) }()
	return f, nil
}

// Addr is where the frontend listens.
func (f *Frontend) Addr() string { return f.listener.Addr().String() }

// SetBackend routes challenges to another companion (host:port), as re-registering it would.
func (f *Frontend) SetBackend(companion string) { f.SetBackends(companion) }

// SetBackends sends each challenge request to one of several companions (host:port) at random, as
// DFP's VIP does with a service of several replicas.
func (f *Frontend) SetBackends(companions ...string) {
	backends := make([]*httputil.ReverseProxy, 0, len(companions))
	for _, c := range companions {
		backends = append(backends, httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: c}))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backends = backends
}

// NotFound is how many challenge requests a companion answered 404.
func (f *Frontend) NotFound() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notFound
}

// statusRecorder reports the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	onStatus func(int)
}

func (r *statusRecorder) WriteHeader(code int) {
	r.onStatus(code)
	r.ResponseWriter.WriteHeader(code)
}

// Misroute makes host's requests fail as if its DNS pointed elsewhere.
func (f *Frontend) Misroute(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.misrouted[host] = true
}

// Close stops the frontend.
func (f *Frontend) Close() { _ = f.server.Close() }
