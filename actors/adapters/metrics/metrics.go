// Package metrics holds the service's Prometheus counters, and the collector that turns the state
// of every name and rate-limit bucket into gauges at each scrape. Names follow cert-manager's where
// one exists, under one prefix.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Prefix is every metric's namespace.
const Prefix = "dfp_letsencrypt"

// Counters the actors increment. They are package-level, registered once in Registry, because
// they count for the whole process whichever actor instance is alive.
var (
	Orders = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Prefix, Name: "orders_total",
		Help: "ACME orders, by how they ended (issued, validation_failed, rate_limited, paused, failed, not_ordered)."}, []string{"outcome"})
	Uploads = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Prefix, Name: "uploads_total",
		Help: "PUT /cert to DFP, by result (ok, failed, distribute_refused); each ok is an HAProxy reload."}, []string{"result"})
	Reconciliations = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Prefix, Name: "reconciliations_total",
		Help: "Comparisons of DFP's GET /certs with the store, by result (ok, failed)."}, []string{"result"})
	ServeChecks = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Prefix, Name: "serve_checks_total",
		Help: "TLS checks of what the proxy serves after an upload, by result (served, not_served, error)."}, []string{"result"})
	Preflights = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Prefix, Name: "preflights_total",
		Help: "Pre-flight checks, by result (ca_route, proxy, failed)."}, []string{"result"})
	LedgerWrites = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Prefix, Name: "ledger_writes_total",
		Help: "Writes of the rate-limit ledger (one per burst of permit requests), successful or not."})
	ACMERequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Prefix, Name: "http_acme_client_request_count",
		Help: "HTTP requests to the ACME server, by method, endpoint and status."}, []string{"method", "path", "status"})
	ACMEDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Prefix, Name: "http_acme_client_request_duration_seconds",
		Help: "Latency of HTTP requests to the ACME server.", Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}, []string{"method", "path"})
)

// Registry holds the counters, the Go runtime and process collectors; the app adds the state
// collector.
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(Orders, Uploads, Reconciliations, ServeChecks, Preflights, LedgerWrites, ACMERequests, ACMEDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// ACMETransport counts and times every request to the ACME server.
type ACMETransport struct{ Next http.RoundTripper }

func (t ACMETransport) RoundTrip(r *http.Request) (*http.Response, error) {
	begin := time.Now()
	resp, err := t.Next.RoundTrip(r)
	path := Endpoint(r.URL.Path)
	ACMEDuration.WithLabelValues(r.Method, path).Observe(time.Since(begin).Seconds())
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	ACMERequests.WithLabelValues(r.Method, path, status).Inc()
	return resp, err
}

// endpoints are the ACME resources by the words their URLs carry (Let's Encrypt's and Pebble's).
var endpoints = []struct{ word, name string }{
	{"renewalinfo", "renewal_info"}, {"new-nonce", "new_nonce"}, {"nonce-plz", "new_nonce"},
	{"new-acct", "new_account"}, {"sign-me-up", "new_account"}, {"new-order", "new_order"}, {"order-plz", "new_order"},
	{"finalize", "finalize"}, {"authz", "authorization"}, {"chal", "challenge"}, {"cert", "certificate"},
	{"order", "order"}, {"acct", "account"}, {"account", "account"}, {"dir", "directory"},
}

// Endpoint names the ACME resource a URL path is for, so that labels stay few (no ids in them).
func Endpoint(path string) string {
	p := strings.ToLower(path)
	for _, e := range endpoints {
		if strings.Contains(p, e.word) {
			return e.name
		}
	}
	return "other"
}
