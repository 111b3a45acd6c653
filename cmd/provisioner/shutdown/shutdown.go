// Package shutdown is the service's stop, within SHUTDOWN_TIMEOUT: the internal port first, then
// the actors, then the orders in flight (stored if they finish in time, recorded as abandoned if
// not), and the challenge responder last, since an order in flight may still be asked for its
// challenge.
package shutdown

import (
	"sync/atomic"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/webroot"

	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// Plan is what a stop takes down, in order.
type Plan struct {
	System     *actor.ActorSystem
	Supervisor *actor.PID
	Issuer     *issuer.Issuer
	Store      *store.Store
	Ops        *opsport.Server // nil when METRICS_ADDR is off
	Timeout    time.Duration   // SHUTDOWN_TIMEOUT: the whole stop, inside Docker's grace period
	Logger     *slog.Logger
}

// Run stops the actors, lets orders in flight store their certificate while time allows, and
// records the orders it abandons. It finishes within s.Timeout, less a moment its caller keeps to
// stop the responder.
func Run(s Plan) error {
	begin := time.Now()
	deadline := begin.Add(s.Timeout)
	// The responder's own stop and the last log lines need a moment at the end.
	reserve := min(time.Second, s.Timeout/4)
	s.Logger.Info("stopping", "event", event.ShutdownStarted, "timeout", s.Timeout.String())
	opsCtx, cancelOps := context.WithTimeout(context.Background(), reserve)
	_ = s.Ops.Shutdown(opsCtx) // no more notifications for actors that are stopping
	cancelOps()

	if !within(deadline.Add(-reserve), func() { _ = s.System.Root.StopFuture(s.Supervisor).Wait() }) {
		s.Logger.Warn("actors did not stop in time; stopping anyway", "event", event.ShutdownTimeout)
	}
	// A certificate the CA issued but nobody stored costs a place in the weekly limit for nothing.
	if !within(deadline.Add(-reserve), s.Issuer.Wait) {
		s.abandon()
	}
	s.System.Shutdown()
	s.Logger.Info("stopped", "event", event.ShutdownComplete, "took", time.Since(begin).Round(time.Millisecond).String())
	return nil
}

// abandon records, in each name's state, that its order was given up at the stop. The booking
// stays in the ledger: the next start hands it to the name's next order (ratelimiter.Reopen).
func (s Plan) abandon() {
	names := s.Issuer.InFlight()
	for _, name := range names {
		st, err := s.Store.LoadState(name)
		if err == nil {
			st.LastError = "order abandoned at shutdown (SHUTDOWN_TIMEOUT); ordered again at the next start"
			err = s.Store.SaveState(name, st)
		}
		if err != nil {
			s.Logger.Error("could not record an abandoned order", "event", event.StateWriteFailed, "domain", name, "error", err)
		}
	}
	s.Logger.Warn("orders still in flight at the stop were abandoned; their names order again at the next start",
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

// DeadlineAfter returns when the stop must be over: timeout after ctx ends (or after the call,
// if ctx has not ended by then).
func DeadlineAfter(ctx context.Context, timeout time.Duration) func() time.Time {
	var ended atomic.Int64
	context.AfterFunc(ctx, func() { ended.Store(time.Now().UnixNano()) })
	return func() time.Time {
		at := time.Unix(0, ended.Load())
		if ended.Load() == 0 {
			at = time.Now()
		}
		return at.Add(timeout)
	}
}

// Responder stops the responder last, by the stop's deadline: an order in flight may still be
// asked for its challenge, and Go counts a connection that sent nothing yet as busy for 5 s.
func Responder(responder *webroot.Server, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return responder.Shutdown(ctx)
}
