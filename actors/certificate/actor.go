// Package certificate is the actor that owns one name's certificate: it loads it from the store,
// decides whether it is due, checks for free that the name can validate, asks the rate limiter for
// a permit, orders it off the mailbox, and hands the result to the uploader. Whatever it must keep
// is in the store, so a restarted instance picks up exactly where the old one stopped.
package certificate

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
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
}

// inFlightRecheck is how long to wait when another instance's order for the name is still running.
const inFlightRecheck = 30 * time.Second

// checkDue is the actor's own timer message: look at the certificate again.
type checkDue struct{}

// checked is the result of a pre-flight check.
type checked struct {
	res preflight.Result
	err error
}

// obtained is the result of an order, sent back to the actor by the goroutine that ran it.
type obtained struct {
	bundle *proxyapi.Bundle
	err    error
}

// ariFetched is the CA's renewal window for the certificate with that fingerprint.
type ariFetched struct {
	fingerprint string
	window      issuer.Window
	err         error
}

type certActor struct {
	name string
	deps Deps
	log  *slog.Logger

	timers      *scheduler.TimerScheduler
	cancelTimer scheduler.CancelFunc
	checking    bool
	awaitPermit bool
	ordering    bool
	fetchingARI bool
	renewal     bool
	// replaces is the certificate the next order replaces (ARI), and ariExempt whether that
	// order is inside the CA's window and so exempt from the rate limits.
	replaces  *x509.Certificate
	ariExempt bool
	// deployed is the fingerprint last handed to the uploader by this instance.
	deployed string
	// said keeps warnings that would repeat on every check to once per instance.
	said map[string]bool
}

// Props builds the actor for name.
func Props(name string, deps Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &certActor{name: name, deps: deps, log: deps.Logger.With("domain", name), said: map[string]bool{}}
	})
}

func (a *certActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
		a.evaluate(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stopTimer()
	case checkDue, *messages.CheckNow:
		a.evaluate(ctx)
	case *messages.RetryNow:
		st := a.loadState()
		st.NextAttempt, st.PausedURL = time.Time{}, ""
		a.saveState(st)
		delete(a.said, "paused")
		a.log.Info("operator asked to retry now", "event", event.RetryRequested, "failures", st.Failures)
		a.evaluate(ctx)
	case checked:
		a.preflighted(ctx, msg)
	case *messages.PermitGranted:
		if a.awaitPermit {
			a.awaitPermit = false
			a.order(ctx)
		}
	case *messages.PermitDeferred:
		a.awaitPermit = false
		a.log.Info("order deferred by the rate limits", "event", event.IssuanceDeferred, "retry_at", msg.Until, "limit", msg.Reason)
		a.wakeAt(ctx, msg.Until)
	case obtained:
		a.finish(ctx, msg)
	case ariFetched:
		a.ariFetched(ctx, msg)
	}
}

// evaluate decides what the certificate needs now: nothing until a time, or an order.
func (a *certActor) evaluate(ctx actor.Context) {
	if a.checking || a.awaitPermit || a.ordering || a.fetchingARI {
		return
	}
	now := a.deps.Now()
	st := a.loadState()
	a.replaces, a.ariExempt = nil, false
	if b, ok := a.current(ctx, now); ok {
		ari := st.ARI
		if ari != nil && ari.Certificate != b.Fingerprint() {
			ari = nil // a window belongs to one certificate; never trust a previous one's
		}
		if ari == nil || !now.Before(ari.NextCheck) {
			a.fetchARI(ctx, b)
			return
		}
		due := DueTime(b, ari)
		if now.Before(due) {
			a.wakeAt(ctx, minTime(due, ari.NextCheck))
			return
		}
		if ari.Usable() {
			a.replaces = b.Leaf
			a.ariExempt = !now.Before(ari.Start) && !now.After(ari.End)
		}
		a.log.Info("certificate due for renewal", "event", event.RenewalDue, "not_after", b.Leaf.NotAfter,
			"due", due, "ari", a.replaces != nil, "in_ari_window", a.ariExempt)
		if now.After(AlarmTime(b)) && a.once("expiring:"+b.Fingerprint()) {
			// Let's Encrypt sends no expiry e-mails any more: this line is the alarm.
			a.log.Error("certificate expires soon and is not renewed yet", "event", event.CertificateExpiring,
				"not_after", b.Leaf.NotAfter, "failures", st.Failures, "last_error", st.LastError)
		}
	}
	if st.PausedURL != "" {
		if a.once("paused") {
			a.log.Error("the CA paused this name; nothing is ordered until an operator unpauses it at unpause_url "+
				"and then runs: provisioner retry-now NAME", "event", event.DomainPaused, "unpause_url", st.PausedURL)
		}
		return
	}
	if now.Before(st.NextAttempt) {
		a.log.Info("waiting for the next attempt after earlier failures", "event", event.IssuanceWaiting,
			"failures", st.Failures, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
		return
	}
	if a.deps.Preflight == nil {
		a.requestPermit(ctx)
		return
	}
	a.checking = true
	pf, name := a.deps.Preflight, a.name
	async.Do(ctx, func() any {
		res, err := pf.Check(context.Background(), name)
		return checked{res: res, err: err}
	})
}

func (a *certActor) preflighted(ctx actor.Context, res checked) {
	a.checking = false
	if res.err != nil {
		// A failed pre-flight spends nothing at the CA but backs off like a failed order.
		st := a.recordFailure(res.err)
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
	a.awaitPermit = true
	ctx.Request(a.deps.Limiter, &messages.PermitRequest{Name: a.name, Renewal: a.renewal, ARI: a.ariExempt})
}

// current returns the stored certificate when it is usable for the name, and sends it to the
// uploader the first time this instance sees it (DFP may have lost it, see dfp-api.md d).
func (a *certActor) current(ctx actor.Context, now time.Time) (*proxyapi.Bundle, bool) {
	data, err := a.deps.Store.LoadBundle(a.name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		a.log.Warn("stored certificate unreadable, will issue a new one", "event", event.CertificateUnreadable, "error", err)
		return nil, false
	}
	b, err := proxyapi.ParseBundle(data)
	if err == nil {
		// This CA issued a certificate for exactly this name before: for the limits, a renewal.
		a.renewal = true
		err = b.Check(a.name, now)
	}
	if err != nil {
		a.log.Warn("stored certificate unusable, will issue a new one", "event", event.CertificateUnusable, "error", err)
		return nil, false
	}
	if a.deployed != b.Fingerprint() {
		a.log.Info("stored certificate loaded", "event", event.CertificateLoaded, "not_after", b.Leaf.NotAfter, "renew_at", RenewAt(b))
		a.deploy(ctx, b)
	}
	return b, true
}

// order runs the ACME order off the mailbox and sends the result back.
func (a *certActor) order(ctx actor.Context) {
	a.ordering = true
	iss, name, replaces := a.deps.Issuer, a.name, a.replaces
	a.log.Info("ordering certificate", "event", event.IssuanceStarted, "renewal", a.renewal, "replaces", replaces != nil)
	async.Do(ctx, func() any {
		b, err := iss.Obtain(name, replaces)
		return obtained{bundle: b, err: err}
	})
}

// fetchARI asks the CA for the certificate's renewal window, off the mailbox.
func (a *certActor) fetchARI(ctx actor.Context, b *proxyapi.Bundle) {
	a.fetchingARI = true
	iss := a.deps.Issuer
	async.Do(ctx, func() any {
		w, err := iss.RenewalWindow(b)
		return ariFetched{fingerprint: b.Fingerprint(), window: w, err: err}
	})
}

func (a *certActor) ariFetched(ctx actor.Context, res ariFetched) {
	a.fetchingARI = false
	now := a.deps.Now()
	st := a.loadState()
	var prev *store.ARI
	if st.ARI != nil && st.ARI.Certificate == res.fingerprint {
		prev = st.ARI
	}
	ari := NextARI(prev, res.fingerprint, res.window, res.err, now)
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
	a.ordering = false
	now := a.deps.Now()
	done := &messages.OrderFinished{Name: a.name, Outcome: messages.OutcomeIssued}
	defer ctx.Send(a.deps.Limiter, done)

	if errors.Is(res.err, issuer.ErrReplacesRefused) {
		// RFC 9773 trap: 409 alreadyReplaced, or 403 after an account change. Order again at once,
		// without replaces and so through the ordinary limits.
		done.Outcome = messages.OutcomeNotOrdered
		st := a.loadState()
		if st.ARI != nil {
			st.ARI.ReplacesRefused = true
			a.saveState(st)
		}
		a.log.Warn("the CA refused replaces; ordering again without it", "event", event.ARIReplacesRefused, "error", res.err)
		a.wakeAt(ctx, now)
		return
	}
	if errors.Is(res.err, issuer.ErrInFlight) {
		// An order started by a previous instance of this actor is still running; it stores its
		// result itself, so look again shortly instead of ordering twice.
		done.Outcome = messages.OutcomeNotOrdered
		a.wakeAt(ctx, now.Add(inFlightRecheck))
		return
	}
	if res.err != nil {
		f := issuer.Classify(res.err, now)
		done.Outcome, done.RetryAt, done.Limit = f.Outcome, f.RetryAt, f.Limit
		a.failed(ctx, f, res.err)
		return
	}
	if err := a.deps.Store.SaveState(a.name, store.State{LastAttempt: now}); err != nil {
		a.log.Error("could not persist state", "event", event.StateWriteFailed, "error", err)
	}
	b := res.bundle
	a.renewal = true
	a.log.Info("certificate obtained", "event", event.CertificateObtained, "not_after", b.Leaf.NotAfter,
		"renew_at", RenewAt(b), "fingerprint", b.Fingerprint(), "replaced", a.replaces != nil)
	a.deploy(ctx, b)
	// The order's result is sent after this returns; evaluate then fetches the new certificate's window.
	a.wakeAt(ctx, now)
}

// failed remembers a failed order on disk and schedules the next attempt: the CA's time for a
// rate limit, never for a paused name, else Let's Encrypt's backoff.
func (a *certActor) failed(ctx actor.Context, f issuer.Failure, err error) {
	switch f.Outcome {
	case messages.OutcomePaused:
		st := a.loadState()
		st.PausedURL, st.LastError, st.LastAttempt = f.UnpauseURL, err.Error(), a.deps.Now()
		a.saveState(st)
		a.said["paused"] = true
		a.log.Error("the CA paused this name; nothing is ordered until an operator unpauses it at unpause_url "+
			"and then runs: provisioner retry-now NAME", "event", event.DomainPaused, "unpause_url", f.UnpauseURL, "error", err)
	case messages.OutcomeRateLimited:
		st := a.loadState()
		now := a.deps.Now()
		st.LastError, st.LastAttempt = err.Error(), now
		// Never before the CA's time; spread a little after it so held names do not return at once.
		st.NextAttempt = spreadAfter(f.RetryAt, min(time.Minute, f.RetryAt.Sub(now)/10+time.Millisecond))
		a.saveState(st)
		a.log.Warn("the CA refused the order on a rate limit; waiting for its time", "event", event.RateLimited,
			"limit", f.Limit, "error", err, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
	default:
		st := a.recordFailure(err)
		a.log.Error("certificate order failed", "event", event.IssuanceFailed, "error", err,
			"outcome", string(f.Outcome), "failures", st.Failures, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
	}
}

// recordFailure counts a failure and persists the next attempt on Let's Encrypt's schedule.
func (a *certActor) recordFailure(err error) store.State {
	now := a.deps.Now()
	st := a.loadState()
	st.Failures++
	st.LastError = err.Error()
	st.LastAttempt = now
	st.NextAttempt = now.Add(withJitter(RetryDelay(st.Failures)))
	a.saveState(st)
	return st
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
		a.log.Error("could not persist failure state", "event", event.StateWriteFailed, "error", err)
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
	}
}

func (a *certActor) once(key string) bool {
	if a.said[key] {
		return false
	}
	a.said[key] = true
	return true
}
