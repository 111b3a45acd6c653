package opsport

import (
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeStandby answers the health endpoints while standing by (alive, not ready, and why); nil
// when opsAddr is off or taken.
func ServeStandby(opsAddr, why, check, state string, logger *slog.Logger) *http.Server {
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
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv
}
