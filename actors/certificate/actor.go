// Package certificate is the actor that owns one name's certificate, and the plain functions that
// decide its lifecycle (lifecycle.go: what now, what a result means; schedule.go: when a
// certificate is due, the retry schedule, the ARI window). The actor only loads, calls those,
// saves, sends and sets timers. Whatever it must keep is in the store, so a restarted instance
// picks up exactly where the old one stopped.
package certificate

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/preflight"
	"github.com/dfp-letsencrypt/provisioner/actors/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Obtainer orders certificates and stores them, and asks the CA when to renew them;
// *issuer.Issuer is the real one.
type Obtainer interface {
	Obtain(name string, replaces *x509.Certificate) (*proxyapi.Bundle, error)
	RenewalWindow(b *proxyapi.Bundle) (issuer.Window, error)
}

// Preflighter checks that a name can validate; *preflight.Checker is the real one.
type Preflighter interface {
	Check(ctx context.Context, name string) (preflight.Result, error)
}

// Deps is what every certificate actor shares.
type Deps struct {
	Store     *store.Store
	Issuer    Obtainer
	Preflight Preflighter // nil: no pre-flight (PREFLIGHT=false)
	Limiter   *actor.PID
	Uploader  *actor.PID
	Logger    *slog.Logger
	Now       func() time.Time
	Jitter    Jitter // nil: RandomJitter
}

// incarnations numbers actor instances. A restart keeps the PID, so a result sent to the old
// instance reaches the new one; the number tells them apart.
var incarnations atomic.Uint64

// checkDue is the actor's own timer message: look at the certificate again.
type checkDue struct{}

// Results of work done off the mailbox, each stamped with the instance that started it.
type (
	checked struct {
		from uint64
		res  preflight.Result
		err  error
	}
	obtained struct {
		from     uint64
		replaced bool
		bundle   *proxyapi.Bundle
		err      error
	}
	ariFetched struct {
		from        uint64
		fingerprint string
		window      issuer.Window
		err         error
	}
)

type certActor struct {
	name        string
	deps        Deps
	log         *slog.Logger
	incarnation uint64
	behavior    actor.Behavior

	timers      *scheduler.TimerScheduler
	cancelTimer scheduler.CancelFunc
	// decision is what the last Decide said, about stored; the permit request and the order follow it.
	decision Decision
	stored   *proxyapi.Bundle
	// deployed is the fingerprint last handed to the uploader by this instance.
	deployed string
	// said keeps warnings that would repeat on every check to once per instance.
	said map[string]bool
}

// Props builds the actor for name.
func Props(name string, deps Deps) *actor.Props {
	if deps.Jitter == nil {
		deps.Jitter = RandomJitter
	}
	return actor.PropsFromProducer(func() actor.Actor {
		a := &certActor{name: name, deps: deps, log: deps.Logger.With("domain", name),
			incarnation: incarnations.Add(1), behavior: actor.NewBehavior(), said: map[string]bool{}}
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
		a.retryNow()
		a.evaluate(ctx)
	case obtained:
		if next := a.adopt(ctx, msg); !next.IsZero() {
			a.wakeAt(ctx, next)
		}
	default:
		a.anyMode(ctx)
	}
}

// checking: a pre-flight runs.
func (a *certActor) checking(ctx actor.Context) {
	if msg, ok := ctx.Message().(checked); ok && msg.from == a.incarnation {
		a.preflighted(ctx, msg)
		return
	}
	a.anyMode(ctx)
}

// awaitingPermit: the rate limiter has been asked.
func (a *certActor) awaitingPermit(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.PermitGranted:
		a.order(ctx)
	case *messages.PermitDeferred:
		a.returnToIdle()
		a.log.Info("order deferred by the rate limits", "event", event.IssuanceDeferred, "retry_at", msg.Until, "limit", msg.Reason)
		a.wakeAt(ctx, msg.Until)
	default:
		a.anyMode(ctx)
	}
}

// ordering: an ACME order runs.
func (a *certActor) ordering(ctx actor.Context) {
	if msg, ok := ctx.Message().(obtained); ok && msg.from == a.incarnation {
		a.finish(ctx, msg)
		return
	}
	a.anyMode(ctx)
}

// fetchingARI: the CA is asked for the renewal window.
func (a *certActor) fetchingARI(ctx actor.Context) {
	if msg, ok := ctx.Message().(ariFetched); ok && msg.from == a.incarnation {
		a.ariFetched(ctx, msg)
		return
	}
	a.anyMode(ctx)
}

// anyMode handles what may arrive whatever the actor is doing. Timers and sweeps while busy are
// dropped: the work under way ends in a look of its own.
func (a *certActor) anyMode(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Stopping, *actor.Restarting:
		a.stopTimer()
	case *messages.RetryNow:
		a.retryNow() // takes effect when the work under way is over
	case *messages.PermitGranted:
		// Granted to a request this instance no longer waits for (a previous instance's): give
		// the slot back at once rather than hold it until its lease runs out.
		ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Outcome: messages.OutcomeNotOrdered})
	case obtained:
		a.adopt(ctx, msg) // the work under way ends in a look of its own
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

// evaluate loads what the store holds, decides, and starts the next step.
func (a *certActor) evaluate(ctx actor.Context) {
	now := a.deps.Now()
	st := a.loadState()
	stored, usable := a.loadCertificate(ctx, now)
	d := Decide(Facts{Now: now, State: st, Stored: stored, Usable: usable, Preflight: a.deps.Preflight != nil})
	a.decision, a.stored = d, stored
	if d.Expiring && a.once("expiring:"+stored.Fingerprint()) {
		// Let's Encrypt sends no expiry e-mails any more: this line is the alarm.
		a.log.Error("certificate expires soon and is not renewed yet", "event", event.CertificateExpiring,
			"not_after", stored.Leaf.NotAfter, "failures", st.Failures, "last_error", st.LastError)
	}
	if !d.Due.IsZero() && d.Step != Wait {
		a.log.Info("certificate due for renewal", "event", event.RenewalDue, "not_after", stored.Leaf.NotAfter,
			"due", d.Due, "ari", d.Replaces, "in_ari_window", d.InWindow)
	}
	switch d.Step {
	case Wait:
		if d.Why == UntilRetry {
			a.log.Info("waiting for the next attempt after earlier failures", "event", event.IssuanceWaiting,
				"failures", st.Failures, "retry_at", d.At)
		}
		a.wakeAt(ctx, d.At)
	case FetchARI:
		a.fetchARI(ctx, stored)
	case StayPaused:
		if a.once("paused") {
			a.logPaused(st.PausedURL, st.LastError)
		}
	case CheckFirst:
		a.become(a.checking)
		pf, name, from := a.deps.Preflight, a.name, a.incarnation
		async.Do(ctx, func() any {
			res, err := pf.Check(context.Background(), name)
			return checked{from: from, res: res, err: err}
		})
	case AskPermit:
		a.requestPermit(ctx)
	}
}

func (a *certActor) preflighted(ctx actor.Context, res checked) {
	a.returnToIdle()
	if res.err != nil {
		st := PreflightFailed(a.loadState(), res.err.Error(), a.deps.Now(), a.deps.Jitter)
		a.saveState(st)
		a.log.Warn("pre-flight check failed; not ordering", "event", event.PreflightFailed, "error", res.err,
			"failures", st.Failures, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
		return
	}
	if res.res.HasIPv6 && a.once("aaaa") {
		a.log.Warn("the name has an AAAA record: the CA validates over IPv6 first, so it must reach the proxy too",
			"event", event.PreflightIPv6)
	}
	a.requestPermit(ctx)
}

func (a *certActor) requestPermit(ctx actor.Context) {
	a.become(a.awaitingPermit)
	ctx.Request(a.deps.Limiter, &messages.PermitRequest{Name: a.name, Renewal: a.decision.Renewal, ARI: a.decision.InWindow})
}

// loadCertificate returns the stored certificate (parsed, or nil) and whether it is usable for the
// name now; a usable one goes to the uploader the first time this instance sees it (DFP may have
// lost it, see dfp-api.md d).
func (a *certActor) loadCertificate(ctx actor.Context, now time.Time) (*proxyapi.Bundle, bool) {
	data, err := a.deps.Store.LoadBundle(a.name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		a.log.Warn("stored certificate unreadable, will issue a new one", "event", event.CertificateUnreadable, "error", err)
		return nil, false
	}
	b, err := proxyapi.ParseBundle(data)
	if err != nil {
		a.log.Warn("stored certificate unusable, will issue a new one", "event", event.CertificateUnusable, "error", err)
		return nil, false
	}
	if err := b.Check(a.name, now); err != nil {
		if a.once("unusable:" + b.Fingerprint()) {
			a.log.Warn("stored certificate unusable, will issue a new one", "event", event.CertificateUnusable, "error", err)
		}
		return b, false
	}
	if a.deployed != b.Fingerprint() {
		a.log.Info("stored certificate loaded", "event", event.CertificateLoaded, "not_after", b.Leaf.NotAfter, "renew_at", RenewAt(b))
		a.deploy(ctx, b)
	}
	return b, true
}

// order runs the ACME order off the mailbox and sends the result back.
func (a *certActor) order(ctx actor.Context) {
	a.become(a.ordering)
	iss, name, from := a.deps.Issuer, a.name, a.incarnation
	var replaces *x509.Certificate
	if a.decision.Replaces {
		replaces = a.stored.Leaf
	}
	a.log.Info("ordering certificate", "event", event.IssuanceStarted, "renewal", a.decision.Renewal, "replaces", replaces != nil)
	async.Do(ctx, func() any {
		b, err := iss.Obtain(name, replaces)
		return obtained{from: from, replaced: replaces != nil, bundle: b, err: err}
	})
}

// fetchARI asks the CA for the certificate's renewal window, off the mailbox.
func (a *certActor) fetchARI(ctx actor.Context, b *proxyapi.Bundle) {
	a.become(a.fetchingARI)
	iss, from := a.deps.Issuer, a.incarnation
	async.Do(ctx, func() any {
		w, err := iss.RenewalWindow(b)
		return ariFetched{from: from, fingerprint: b.Fingerprint(), window: w, err: err}
	})
}

func (a *certActor) ariFetched(ctx actor.Context, res ariFetched) {
	a.returnToIdle()
	now := a.deps.Now()
	st := a.loadState()
	var prev *store.ARI
	if st.ARI != nil && st.ARI.Certificate == res.fingerprint {
		prev = st.ARI
	}
	ari := NextARI(prev, res.fingerprint, res.window, res.err, now, a.deps.Jitter)
	switch {
	case errors.Is(res.err, issuer.ErrNoARI):
		if a.once("no_ari") {
			a.log.Info("the CA offers no renewal info; renewing by lifetime", "event", event.ARIUnsupported)
		}
	case res.err != nil:
		a.log.Warn("could not fetch the CA's renewal window; renewing by lifetime meanwhile", "event", event.ARIFailed,
			"error", res.err, "retry_at", ari.NextCheck)
	case prev == nil || !prev.RenewAt.Equal(ari.RenewAt):
		a.log.Info("the CA's renewal window", "event", event.ARIWindow, "fingerprint", res.fingerprint,
			"window_start", ari.Start, "window_end", ari.End,
			"renew_at", ari.RenewAt, "next_check", ari.NextCheck)
	}
	st.ARI = ari
	a.saveState(st)
	a.evaluate(ctx)
}

func (a *certActor) finish(ctx actor.Context, res obtained) {
	a.returnToIdle()
	if next := a.settle(ctx, res); !next.IsZero() {
		a.wakeAt(ctx, next)
	}
}

// settle records how an order ended, tells the limiter, logs it, and returns when to look again.
func (a *certActor) settle(ctx actor.Context, res obtained) time.Time {
	now := a.deps.Now()
	var f *issuer.Failure
	errText := ""
	if res.err != nil {
		c := issuer.Classify(res.err, now)
		f, errText = &c, res.err.Error()
	}
	r := Ordered(a.loadState(), f, errText, now, a.deps.Jitter)
	a.saveState(r.State)
	ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Outcome: r.Outcome, RetryAt: r.RetryAt, Limit: r.Limit})
	switch {
	case f == nil:
		b := res.bundle
		a.log.Info("certificate obtained", "event", event.CertificateObtained, "not_after", b.Leaf.NotAfter,
			"renew_at", RenewAt(b), "fingerprint", b.Fingerprint(), "replaced", res.replaced)
		a.deploy(ctx, b)
	case f.Kind == issuer.ReplacesRefused:
		a.log.Warn("the CA refused replaces; ordering again without it", "event", event.ARIReplacesRefused, "error", res.err)
	case f.Kind == issuer.InFlight:
		a.log.Debug("an order placed before a restart is still running; looking again shortly", "retry_at", r.WakeAt)
	case f.Kind == issuer.Paused:
		a.said["paused"] = true
		a.logPaused(f.UnpauseURL, errText)
	case f.Kind == issuer.RateLimited:
		a.log.Warn("the CA refused the order on a rate limit; waiting for its time", "event", event.RateLimited,
			"limit", f.Limit, "error", res.err, "retry_at", r.State.NextAttempt)
	default:
		a.log.Error("certificate order failed", "event", event.IssuanceFailed, "error", res.err,
			"outcome", string(r.Outcome), "failures", r.State.Failures, "retry_at", r.State.NextAttempt)
	}
	return r.WakeAt
}

func (a *certActor) logPaused(unpauseURL, errText string) {
	a.log.Error("the CA paused this name; nothing is ordered until an operator unpauses it at unpause_url "+
		"and then runs: provisioner retry-now NAME", "event", event.DomainPaused, "unpause_url", unpauseURL, "error", errText)
}

func (a *certActor) retryNow() {
	st := a.loadState()
	a.saveState(RetryRequested(st))
	delete(a.said, "paused")
	a.log.Info("operator asked to retry now", "event", event.RetryRequested, "failures", st.Failures)
}

func (a *certActor) loadState() store.State {
	st, err := a.deps.Store.LoadState(a.name)
	if err != nil && a.once("state_corrupt") {
		// A corrupt state file must not stop issuance; the failure count restarts from zero.
		a.log.Warn("state unreadable, starting afresh", "event", event.StateCorrupt, "error", err)
	}
	return st
}

func (a *certActor) saveState(st store.State) {
	if err := a.deps.Store.SaveState(a.name, st); err != nil {
		a.log.Error("could not persist state", "event", event.StateWriteFailed, "error", err)
	}
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
