// Package certificate is the actor that owns one name's certificate: it loads it from the store,
// decides whether it is due, asks the rate limiter for a permit, orders it off the mailbox, and
// hands the result to the uploader. Whatever it must keep is in the store, so a restarted
// instance picks up exactly where the old one stopped.
package certificate

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Obtainer orders a certificate for a name and stores it; *issuer.Issuer is the real one.
type Obtainer interface {
	Obtain(name string) (*proxyapi.Bundle, error)
}

// Deps is what every certificate actor shares.
type Deps struct {
	Store    *store.Store
	Issuer   Obtainer
	Limiter  *actor.PID
	Uploader *actor.PID
	Logger   *slog.Logger
	Now      func() time.Time
}

// inFlightRecheck is how long to wait when another instance's order for the name is still running.
const inFlightRecheck = 30 * time.Second

// checkDue is the actor's own timer message: look at the certificate again.
type checkDue struct{}

// obtained is the result of an order, sent back to the actor by the goroutine that ran it.
type obtained struct {
	bundle *proxyapi.Bundle
	err    error
}

type certActor struct {
	name string
	deps Deps
	log  *slog.Logger

	timers      *scheduler.TimerScheduler
	cancelTimer scheduler.CancelFunc
	awaitPermit bool
	ordering    bool
	// deployed is the fingerprint last handed to the uploader by this instance.
	deployed string
}

// Props builds the actor for name.
func Props(name string, deps Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &certActor{name: name, deps: deps, log: deps.Logger.With("domain", name)}
	})
}

func (a *certActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
		a.evaluate(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stopTimer()
	case checkDue:
		a.evaluate(ctx)
	case *messages.PermitGranted:
		a.awaitPermit = false
		a.order(ctx)
	case *messages.PermitDeferred:
		a.awaitPermit = false
		a.log.Info("order deferred by rate limiter", "event", "issuance_deferred", "retry_at", msg.Until, "limit", msg.Reason)
		a.wakeAt(ctx, msg.Until)
	case obtained:
		a.finish(ctx, msg)
	}
}

// evaluate decides what the certificate needs now: nothing until a time, or an order.
func (a *certActor) evaluate(ctx actor.Context) {
	if a.awaitPermit || a.ordering {
		return
	}
	now := a.deps.Now()
	if b, ok := a.current(ctx, now); ok {
		renewAt := RenewAt(b)
		if now.Before(renewAt) {
			a.wakeAt(ctx, renewAt)
			return
		}
		a.log.Info("certificate due for renewal", "event", "renewal_due", "not_after", b.Leaf.NotAfter)
	}
	st, err := a.deps.Store.LoadState(a.name)
	if err != nil {
		// A corrupt state file must not stop issuance; the failure count restarts from zero.
		a.log.Warn("state unreadable, starting afresh", "event", "state_corrupt", "error", err)
	}
	if now.Before(st.NextAttempt) {
		a.log.Info("waiting for the next attempt after earlier failures", "event", "issuance_waiting",
			"failures", st.Failures, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
		return
	}
	a.awaitPermit = true
	ctx.Request(a.deps.Limiter, &messages.PermitRequest{Name: a.name})
}

// current returns the stored certificate when it is usable for the name, and sends it to the
// uploader the first time this instance sees it (DFP may have lost it, see dfp-api.md d).
func (a *certActor) current(ctx actor.Context, now time.Time) (*proxyapi.Bundle, bool) {
	data, err := a.deps.Store.LoadBundle(a.name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		a.log.Warn("stored certificate unreadable, will issue a new one", "event", "certificate_unreadable", "error", err)
		return nil, false
	}
	b, err := proxyapi.ParseBundle(data)
	if err == nil {
		err = b.Check(a.name, now)
	}
	if err != nil {
		a.log.Warn("stored certificate unusable, will issue a new one", "event", "certificate_unusable", "error", err)
		return nil, false
	}
	if a.deployed != b.Fingerprint() {
		a.log.Info("stored certificate loaded", "event", "certificate_loaded", "not_after", b.Leaf.NotAfter, "renew_at", RenewAt(b))
		a.deploy(ctx, b)
	}
	return b, true
}

// order runs the ACME order off the mailbox and sends the result back.
func (a *certActor) order(ctx actor.Context) {
	a.ordering = true
	self, root, iss, name := ctx.Self(), ctx.ActorSystem().Root, a.deps.Issuer, a.name
	a.log.Info("ordering certificate", "event", "issuance_started")
	go func() {
		b, err := iss.Obtain(name)
		root.Send(self, obtained{bundle: b, err: err})
	}()
}

func (a *certActor) finish(ctx actor.Context, res obtained) {
	a.ordering = false
	if errors.Is(res.err, issuer.ErrInFlight) {
		// An order started by a previous instance of this actor is still running; it stores its
		// result itself, so look again shortly instead of ordering twice.
		ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Outcome: messages.OutcomeFailed})
		a.wakeAt(ctx, a.deps.Now().Add(inFlightRecheck))
		return
	}
	now := a.deps.Now()
	if res.err != nil {
		ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Outcome: messages.OutcomeFailed})
		st, _ := a.deps.Store.LoadState(a.name)
		st.Failures++
		st.LastError = res.err.Error()
		st.LastAttempt = now
		st.NextAttempt = now.Add(withJitter(RetryDelay(st.Failures)))
		if err := a.deps.Store.SaveState(a.name, st); err != nil {
			a.log.Error("could not persist failure state", "event", "state_write_failed", "error", err)
		}
		a.log.Error("certificate order failed", "event", "issuance_failed", "error", res.err,
			"failures", st.Failures, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
		return
	}
	ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Outcome: messages.OutcomeIssued})
	if err := a.deps.Store.SaveState(a.name, store.State{LastAttempt: now}); err != nil {
		a.log.Error("could not persist state", "event", "state_write_failed", "error", err)
	}
	b := res.bundle
	a.log.Info("certificate obtained", "event", "certificate_obtained", "not_after", b.Leaf.NotAfter,
		"renew_at", RenewAt(b), "fingerprint", b.Fingerprint())
	a.deploy(ctx, b)
	a.wakeAt(ctx, RenewAt(b))
}

func (a *certActor) deploy(ctx actor.Context, b *proxyapi.Bundle) {
	a.deployed = b.Fingerprint()
	ctx.Send(a.deps.Uploader, &messages.DeployCertificate{Name: a.name, Bundle: b.PEM})
}

func (a *certActor) wakeAt(ctx actor.Context, at time.Time) {
	a.stopTimer()
	delay := max(at.Sub(a.deps.Now()), 0)
	a.cancelTimer = a.timers.SendOnce(delay, ctx.Self(), checkDue{})
}

func (a *certActor) stopTimer() {
	if a.cancelTimer != nil {
		a.cancelTimer()
	}
}
