package app

import (
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"

	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// stopping is what a stop takes down, in order.
type stopping struct {
	system     *actor.ActorSystem
	supervisor *actor.PID
	issuer     *issuer.Issuer
	store      *store.Store
	ops        *opsport.Server // nil when METRICS_ADDR is off
	timeout    time.Duration   // SHUTDOWN_TIMEOUT: the whole stop, inside Docker's grace period
	logger     *slog.Logger
}

// stop stops the actors, lets orders in flight store their certificate while time allows, and
// records the orders it abandons. It finishes within s.timeout, less a moment its caller keeps to
// stop the responder.
func stop(s stopping) error {
	begin := time.Now()
	deadline := begin.Add(s.timeout)
	// The responder's own stop and the last log lines need a moment at the end.
	reserve := min(time.Second, s.timeout/4)
	s.logger.Info("stopping", "event", event.ShutdownStarted, "timeout", s.timeout.String())
	opsCtx, cancelOps := context.WithTimeout(context.Background(), reserve)
	_ = s.ops.Shutdown(opsCtx) // no more notifications for actors that are stopping
	cancelOps()

	if !within(deadline.Add(-reserve), func() { _ = s.system.Root.StopFuture(s.supervisor).Wait() }) {
		s.logger.Warn("actors did not stop in time; stopping anyway", "event", event.ShutdownTimeout)
	}
	// A certificate the CA issued but nobody stored costs a place in the weekly limit for nothing.
	if !within(deadline.Add(-reserve), s.issuer.Wait) {
		s.abandon()
	}
	s.system.Shutdown()
	s.logger.Info("stopped", "event", event.ShutdownComplete, "took", time.Since(begin).Round(time.Millisecond).String())
	return nil
}

// abandon records, in each name's state, that its order was given up at the stop. The booking
// stays in the ledger: the next start hands it to the name's next order (ratelimiter.Reopen).
func (s stopping) abandon() {
	names := s.issuer.InFlight()
	for _, name := range names {
		st, err := s.store.LoadState(name)
		if err == nil {
			st.LastError = "order abandoned at shutdown (SHUTDOWN_TIMEOUT); ordered again at the next start"
			err = s.store.SaveState(name, st)
		}
		if err != nil {
			s.logger.Error("could not record an abandoned order", "event", event.StateWriteFailed, "domain", name, "error", err)
		}
	}
	s.logger.Warn("orders still in flight at the stop were abandoned; their names order again at the next start",
		"event", event.ShutdownOrdersAbandoned, "domains", names)
}

// within runs work and reports whether it finished before deadline. Work that does not finish
// goes on in the background until the process exits.
func within(deadline time.Time, work func()) bool {
	done := make(chan struct{})
	go func() {
		work()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(time.Until(deadline)):
		return false
	}
}
