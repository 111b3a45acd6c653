package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// opsServer is the internal HTTP port (METRICS_ADDR), never routed through DFP. It takes
// docker-flow-swarm-listener's notifications, so a new service is discovered at once rather than
// at the next poll.
type opsServer struct {
	srv      *http.Server
	listener net.Listener
}

// listenOps starts the internal port; notifications go to the supervisor as PollNow hints.
func listenOps(addr string, root *actor.RootContext, supervisor *actor.PID, logger *slog.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/notify/create", notifyHandler(root, supervisor, logger, true))
	mux.Handle("/notify/remove", notifyHandler(root, supervisor, logger, false))
	s := &opsServer{listener: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
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
		msg := &messages.PollNow{}
		if created {
			msg.Service = service
		}
		root.Send(supervisor, msg)
		logger.Info("notified by the swarm listener; reading DFP's services now", "event", event.SwarmNotified,
			"kind", kind, "service", event.PeerText(service))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Status":"OK"}`))
	})
}

// Addr is where the internal port listens.
func (s *opsServer) Addr() net.Addr { return s.listener.Addr() }

// Shutdown stops the internal port.
func (s *opsServer) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}
