// Package opsport is the internal HTTP port (METRICS_ADDR), never routed through DFP: the swarm
// listener's notifications, /metrics, /healthz and /readyz, and the health command that asks it.
package opsport

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/discovery"
	"github.com/dfp-letsencrypt/provisioner/actors/supervisor"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// Server is the internal HTTP port (METRICS_ADDR), never routed through DFP. It takes
// docker-flow-swarm-listener's notifications, so a new service is discovered at once rather than
// at the next poll; serves Prometheus's /metrics; and answers the health check (/healthz) and
// readiness (/readyz).
type Server struct {
	srv      *http.Server
	listener net.Listener
}

// Deps is what the internal port looks at.
type Deps struct {
	Cfg        config.Config
	Store      *store.Store
	Book       *served.Book        // what the proxy serves
	Managed    *supervisor.Managed // the names with an actor
	Live       *certificate.Live   // each actor's view of its name
	Root       *actor.RootContext
	Supervisor *actor.PID
	Limiter    *actor.PID
	Responder  string        // the responder's address, which must accept connections
	Answered   *atomic.Int64 // DFP's last answer, Unix nanoseconds (discovery.Config.Answered)
	Interval   time.Duration // DISCOVERY_INTERVAL
	Logger     *slog.Logger
}

// Listen starts the internal port; notifications go to the supervisor as PollNow hints.
func Listen(addr string, d Deps) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	token := d.Cfg.NotifyToken
	mux.Handle("/notify/create", withToken(token, notifyHandler(d.Root, d.Supervisor, d.Logger, true)))
	mux.Handle("/notify/remove", withToken(token, notifyHandler(d.Root, d.Supervisor, d.Logger, false)))
	state := prometheus.NewRegistry() // per run: in-process tests run several services
	state.MustRegister(status.NewCollector(d.Cfg, d.Store, d.Live, d.Book, d.Managed.Names, d.Logger))
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.Gatherers{metrics.Registry, state, leaderGauge(true)}, scrapeLimits))
	mux.Handle("/status", withToken(token, d.statusHandler(&status.Cache{})))
	mux.Handle("/retry-now", withToken(token, d.retryHandler()))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeCheck(w, d.alive()) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		writeCheck(w, Readiness(time.Unix(0, d.Answered.Load()), time.Now(), d.Interval, d.Book.NotServed()))
	})
	if d.Cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	s := &Server{listener: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// notifyHandler takes the listener's GET (or POST) with its query parameters. Only serviceName is
// read, and only as a hint of what to wait for in DFP's list: the notification is never data.
func notifyHandler(root *actor.RootContext, supervisor *actor.PID, logger *slog.Logger, created bool) http.Handler {
	kind := "remove"
	if created {
		kind = "create"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		service := r.FormValue("serviceName")
		if len(service) > discovery.MaxServiceName {
			http.Error(w, "serviceName is longer than any service's", http.StatusBadRequest)
			return
		}
		msg := &messages.PollNow{}
		if created {
			msg.Service = service
		}
		root.Send(supervisor, msg)
		logger.Debug("notified by the swarm listener; reading DFP's services now", "event", event.SwarmNotified,
			"kind", kind, "service", event.PeerText(service))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Status":"OK"}`))
	})
}

// Check is what /healthz and /readyz answer: OK, and what was looked at.
type Check struct {
	OK     bool              `json:"ok"`
	Checks map[string]string `json:"checks"`
}

// alive: the supervisor and the rate limiter each answer a ping within a second, and the responder
// accepts connections. A wedged process fails it, and Swarm replaces the task.
func (d Deps) alive() Check {
	c := Check{OK: true, Checks: map[string]string{}}
	verdict := func(name string, err error) {
		c.Checks[name] = "ok"
		if err != nil {
			c.OK, c.Checks[name] = false, err.Error()
		}
	}
	for name, pid := range map[string]*actor.PID{"supervisor": d.Supervisor, "ratelimiter": d.Limiter} {
		_, err := d.Root.RequestFuture(pid, &messages.Ping{}, time.Second).Result()
		verdict(name, err)
	}
	conn, err := net.DialTimeout("tcp", d.Responder, time.Second)
	if err == nil {
		conn.Close()
	}
	verdict("responder", err)
	return c
}

// Readiness is whether the service does its work: DFP answered within the last three discovery
// intervals (so a DFP outage turns it unready within three intervals, and it is ready again at the
// first answer), and no name a handshake found not served (notServed) waits to be served again.
// The store is loaded and DATA_DIR held before the internal port even opens.
func Readiness(lastAnswer, now time.Time, interval time.Duration, notServed []string) Check {
	c := Check{OK: true, Checks: map[string]string{"store": "ok", "data_dir_lock": "ok", "dfp": "ok", "proxy": "ok"}}
	if len(notServed) > 0 {
		shown := notServed[:min(len(notServed), 5)]
		c.OK, c.Checks["proxy"] = false, fmt.Sprintf("%d names not served by the proxy: %s", len(notServed), strings.Join(shown, ", "))
		if len(notServed) > len(shown) {
			c.Checks["proxy"] += ", ..."
		}
	}
	switch {
	case lastAnswer.UnixNano() <= 0:
		c.OK, c.Checks["dfp"] = false, "no answer from DFP yet"
	case now.Sub(lastAnswer) > 3*interval:
		c.OK, c.Checks["dfp"] = false, fmt.Sprintf("no answer from DFP since %s", lastAnswer.UTC().Format(time.RFC3339))
	}
	return c
}

func writeCheck(w http.ResponseWriter, c Check) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !c.OK {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(c)
}

// Addr is where the internal port listens.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Shutdown stops the internal port.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// withToken lets a request through only with ?token= equal to token (compared in constant
// time); an empty token lets everything through.
func withToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), want) != 1 {
			http.Error(w, "a valid ?token= (NOTIFY_TOKEN) is required", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
