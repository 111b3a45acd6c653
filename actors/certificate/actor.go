// Package certificate is the actor that owns one name's certificate, and the plain functions that
// decide its lifecycle (lifecycle.go: what now, what a result means; schedule.go: when a
// certificate is due, the retry schedule, the ARI window; permits.go: what a grant means). deps.go
// holds what the actor depends on and the messages it sends itself; steps.go its steps. The actor only loads, calls those,
// saves, sends and sets timers. Whatever it must keep is in the store, so a restarted instance
// picks up exactly where the old one stopped.
package certificate

import (
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

type certActor struct {
	name        string
	deps        Deps
	log         *slog.Logger
	incarnation uint64
	behavior    actor.Behavior
	// The modes that wait for a result: see awaiting.
	checking, ordering, fetchingARI actor.ReceiveFunc

	timers      *scheduler.TimerScheduler
	cancelTimer scheduler.CancelFunc
	// decision is what the last Decide said; the permit request and the order follow it.
	decision Decision
	// replacing is the stored leaf an order due now names in "replaces"; nil otherwise. The
	// actor keeps no certificate between looks: the store has it, and 10,000 names would
	// otherwise hold 10,000 parsed bundles twice (here and in the uploader).
	replacing *x509.Certificate
	// deployed is the fingerprint last handed to the uploader by this instance.
	deployed string
	// permit is the permit this instance last asked for, or holds; "" when none.
	permit    string
	permitSeq uint64
	// reported is each kind of trouble as last told to the parent.
	reported map[string]bool
	// said keeps warnings that would repeat on every check to once per instance.
	said map[string]bool
	// unsaved is a certificate the CA issued that the store could not keep yet: it is used, and
	// uploaded, as if stored, and saved again at every look until the store takes it.
	unsaved *bundle.Bundle
}

// Props builds the actor for name.
func Props(name string, deps Deps) *actor.Props {
	if deps.Jitter == nil {
		deps.Jitter = schedule.RandomJitter
	}
	if deps.PermitWait <= 0 {
		deps.PermitWait = time.Minute
	}
	return actor.PropsFromProducer(func() actor.Actor {
		a := &certActor{name: name, deps: deps, log: deps.Logger.With("domain", name),
			incarnation: incarnations.Add(1), behavior: actor.NewBehavior(), said: map[string]bool{},
			reported: map[string]bool{}}
		a.checking = awaiting(a, a.preflighted)
		a.ordering = awaiting(a, a.finish)
		a.fetchingARI = awaiting(a, a.ariFetched)
		a.behavior.Become(a.idle)
		return a
	})
}

func (a *certActor) Receive(ctx actor.Context) { a.behavior.Receive(ctx) }

// idle: nothing is in flight; a timer, the sweep or an operator makes the actor look again.
func (a *certActor) idle(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
		a.evaluate(ctx)
	case checkDue, *messages.CheckNow:
		a.evaluate(ctx)
	case *messages.RetryNow:
		a.retryNow(ctx)
		a.evaluate(ctx)
	case obtained:
		if next := a.adopt(ctx, msg); !next.IsZero() {
			a.wakeAt(ctx, next)
		}
	default:
		a.anyMode(ctx)
	}
}

// awaitingPermit: the rate limiter has been asked.
func (a *certActor) awaitingPermit(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.PermitGranted:
		a.granted(ctx, msg, true)
	case *messages.PermitDeferred:
		a.permit = ""
		a.returnToIdle()
		a.log.Info("order deferred by the rate limits", "event", event.IssuanceDeferred, "retry_at", msg.Until, "limit", msg.Reason)
		a.wakeAt(ctx, msg.Until)
	case permitUnanswered:
		a.log.Debug("no answer from the rate limiter; asking again with the same permit", "permit", a.permit)
		a.askPermit(ctx)
	case obtained:
		// A previous instance's order ended while this one waited to order on an older view:
		// take its result, give this permit back when it comes, and look again.
		a.permit = ""
		a.returnToIdle()
		a.adopt(ctx, msg)
		a.wakeAt(ctx, a.deps.Now())
	default:
		a.anyMode(ctx)
	}
}

// awaiting is the mode of an instance waiting for one result of work it started itself: a
// pre-flight (checked), an order (obtained), the CA's renewal window (ariFetched). Anything else,
// including the same kind of result from a previous instance, is handled as in any mode.
func awaiting[T result](a *certActor, handle func(actor.Context, T)) actor.ReceiveFunc {
	return func(ctx actor.Context) {
		if msg, ok := ctx.Message().(T); ok && msg.startedBy() == a.incarnation {
			handle(ctx, msg)
			return
		}
		a.anyMode(ctx)
	}
}

// anyMode handles what may arrive whatever the actor is doing. Timers and sweeps while busy are
// dropped: the work under way ends in a look of its own.
func (a *certActor) anyMode(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Stopping:
		a.stopTimer()
		a.deps.Live.forget(a.name) // no longer managed: status reads it from the store
	case *actor.Restarting:
		a.stopTimer()
	case *messages.RetryNow:
		a.retryNow(ctx) // takes effect when the work under way is over
	case *messages.PermitGranted:
		a.granted(ctx, msg, false)
	case obtained:
		a.adopt(ctx, msg) // the work under way ends in a look of its own
	}
}

// granted acts on a grant as ReadGrant reads it; waiting: the actor waits for a permit.
func (a *certActor) granted(ctx actor.Context, msg *messages.PermitGranted, waiting bool) {
	switch ReadGrant(msg.Permit, a.permit, waiting) {
	case OrderNow:
		a.order(ctx)
	case GiveBack:
		ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Permit: msg.Permit, Outcome: messages.OutcomeNotOrdered})
	}
}

// adopt takes on, on purpose, the result of an order a previous instance placed (a restart keeps
// the PID). Its certificate is already stored; the limiter learns what the order cost and a
// failure backs off, exactly as for an order of this instance.
func (a *certActor) adopt(ctx actor.Context, res obtained) time.Time {
	a.log.Info("adopting the result of an order placed before a restart", "event", event.OrderAdopted, "ok", res.err == nil)
	return a.settle(ctx, res)
}

// become switches to a mode in which the actor waits for one piece of work.
func (a *certActor) become(mode actor.ReceiveFunc) {
	a.stopTimer()
	a.behavior.Become(mode)
}

// returnToIdle ends the current work.
func (a *certActor) returnToIdle() { a.behavior.Become(a.idle) }

func (a *certActor) wakeAt(ctx actor.Context, at time.Time) {
	a.stopTimer()
	delay := max(at.Sub(a.deps.Now()), 0)
	a.cancelTimer = a.timers.SendOnce(delay, ctx.Self(), checkDue{})
}

func (a *certActor) stopTimer() {
	if a.cancelTimer != nil {
		a.cancelTimer()
		a.cancelTimer = nil
	}
}

func (a *certActor) once(key string) bool {
	if a.said[key] {
		return false
	}
	a.said[key] = true
	return true
}
