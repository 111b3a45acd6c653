package opsport

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// ServeStandby answers the internal port while standing by: the health endpoints (alive, not
// ready, and why), /metrics (with leader_status 0), and the swarm listener's notifications, which
// pass (nil: cannot pass, answered 503) hands to the leader. nil when opsAddr is off or taken.
func ServeStandby(opsAddr, why, check, state, token string, pass func(context.Context) error, logger *slog.Logger) *http.Server {
	if opsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", opsAddr)
	if err != nil {
		logger.Warn("standby: the internal port is taken; no health endpoint while standing by", "error", err)
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeCheck(w, Check{OK: true, Checks: map[string]string{"standby": "alive; " + why}})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		writeCheck(w, Check{OK: false, Checks: map[string]string{check: state}})
	})
	notified := func(w http.ResponseWriter, r *http.Request) {
		if pass == nil {
			http.Error(w, "a standby: "+why, http.StatusServiceUnavailable)
			return
		}
		if err := pass(r.Context()); err != nil {
			logger.Warn("standby: could not pass the notification to the leader; it polls DFP at its next interval", "error", err)
			http.Error(w, "could not pass the notification to the leader", http.StatusServiceUnavailable)
			return
		}
		logger.Debug("standby: notification passed to the leader", "event", event.SwarmNotified)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Status":"OK"}`))
	}
	mux.Handle("/notify/create", withToken(token, http.HandlerFunc(notified)))
	mux.Handle("/notify/remove", withToken(token, http.HandlerFunc(notified)))
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.Gatherers{metrics.Registry, leaderGauge(false)}, scrapeLimits))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// scrapeLimits bound /metrics whoever scrapes: two scrapes at a time (more are answered 503 at
// once) and 10 s each.
var scrapeLimits = promhttp.HandlerOpts{MaxRequestsInFlight: 2, Timeout: 10 * time.Second}

// leaderGauge is leader_status: 1 on the replica that leads (and with STORE=file), 0 on a standby,
// so that a scrape through the service's address says which it reached.
func leaderGauge(leading bool) prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: metrics.Prefix + "_leader_status",
		Help: "1 when this replica leads (discovers, orders, uploads), 0 when it stands by."})
	if leading {
		g.Set(1)
	}
	reg.MustRegister(g)
	return reg
}
