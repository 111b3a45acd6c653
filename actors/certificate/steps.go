package certificate

// The actor's steps: each loads what it needs, asks lifecycle.go what it means, saves, logs the
// event and sends. Routing between them is in actor.go.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/preflight"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// evaluate loads what the store holds, decides, and starts the next step.
func (a *certActor) evaluate(ctx actor.Context) {
	now := a.deps.Now()
	st := a.loadState()
	stored, usable := a.loadCertificate(ctx, now)
	d := Decide(Facts{Now: now, State: st, Stored: stored, Usable: usable, Preflight: a.deps.Preflight != nil})
	a.decision, a.replacing = d, nil
	if d.Replaces {
		a.replacing = stored.Leaf
	}
	a.deps.Live.Put(a.name, stored, st)
	a.reportTroubles(ctx, st)
	if d.Expiring && a.once("expiring:"+stored.Fingerprint()) {
		// Let's Encrypt sends no expiry e-mails any more: this line is the alarm.
		a.log.Error("certificate expires soon and is not renewed yet", "event", event.CertificateExpiring,
			"not_after", stored.Leaf.NotAfter, "failures", st.Failures, "last_error", st.LastError)
	}
	if d.Spaced && a.once("spaced:"+stored.Fingerprint()) {
		a.log.Warn("the CA's renewal window is open for a certificate under a day old; its renewal is held back",
			"event", event.RenewalSpaced, "not_before", stored.Leaf.NotBefore, "renew_at", schedule.DueTime(stored, schedule.WindowOf(stored, st.ARI)))
	}
	if !d.Due.IsZero() {
		a.log.Info("certificate due for renewal", "event", event.RenewalDue, "not_after", stored.Leaf.NotAfter,
			"due", d.Due, "ari", d.Replaces, "in_ari_window", d.InWindow)
	}
	switch d.Step {
	case Wait:
		if d.Why == UntilRetry {
			a.log.Info("waiting for the next attempt after earlier failures", "event", event.IssuanceWaiting,
				"failures", st.Failures, "retry_at", d.At)
		}
		at := d.At
		if a.unsaved != nil && (at.IsZero() || at.After(now.Add(SaveRetry))) {
			at = now.Add(SaveRetry) // save the certificate again
		}
		a.wakeAt(ctx, at)
	case FetchARI:
		a.fetchARI(ctx, stored)
	case StayPaused:
		if a.once("paused") {
			a.logPaused(st.PausedURL, st.LastError)
		}
	case CheckFirst:
		a.become(a.checking)
		pf, name, from := a.deps.Preflight, a.name, a.incarnation
		async.Do(ctx, a.log, func() checked {
			res, err := pf.Check(context.Background(), name)
			return checked{from: from, res: res, err: err}
		}, func(err error) checked { return checked{from: from, err: err} })
	case AskPermit:
		a.requestPermit(ctx)
	}
}

func (a *certActor) preflighted(ctx actor.Context, res checked) {
	a.returnToIdle()
	if res.err != nil {
		metrics.Preflights.WithLabelValues("failed").Inc()
		st := PreflightFailed(a.loadState(), event.PeerText(res.err.Error()), a.deps.Now(), a.deps.Jitter)
		a.saveState(ctx, st)
		a.log.Warn("pre-flight check failed; not ordering", "event", event.PreflightFailed, "error", st.LastError,
			"failures", st.Failures, "retry_at", st.NextAttempt)
		a.wakeAt(ctx, st.NextAttempt)
		return
	}
	metrics.Preflights.WithLabelValues(res.res.DecidedBy).Inc()
	if res.res.DecidedBy == preflight.ByProxy && a.once("via_proxy") {
		a.log.Info("pre-flight: the name's own addresses cannot be reached from here (hairpin NAT?); the probe through the proxy decided",
			"event", event.PreflightViaProxy)
	}
	if res.res.HasIPv6 && a.once("aaaa") {
		a.log.Warn("the name has an AAAA record: the CA validates over IPv6 first, so it must reach the proxy too",
			"event", event.PreflightIPv6)
	}
	a.requestPermit(ctx)
}

// requestPermit asks the rate limiter for a new permit.
func (a *certActor) requestPermit(ctx actor.Context) {
	a.become(a.awaitingPermit)
	a.permitSeq++
	a.permit = fmt.Sprintf("%d.%d", a.incarnation, a.permitSeq)
	a.askPermit(ctx)
}

// askPermit sends the permit request, and asks again with the same permit if no answer comes:
// a restarted limiter has forgotten who waits for an order slot.
func (a *certActor) askPermit(ctx actor.Context) {
	ctx.Request(a.deps.Limiter, &messages.PermitRequest{Name: a.name, Permit: a.permit, Renewal: a.decision.Renewal, ARI: a.decision.InWindow})
	a.stopTimer()
	a.cancelTimer = a.timers.SendOnce(a.deps.PermitWait, ctx.Self(), permitUnanswered{})
}

// order runs the ACME order off the mailbox and sends the result back.
func (a *certActor) order(ctx actor.Context) {
	a.become(a.ordering)
	iss, name, from, permit := a.deps.Issuer, a.name, a.incarnation, a.permit
	replaces := a.replacing
	a.log.Info("ordering certificate", "event", event.IssuanceStarted, "renewal", a.decision.Renewal, "replaces", replaces != nil)
	async.Do(ctx, a.log, func() obtained {
		b, err := iss.Obtain(name, replaces)
		return obtained{from: from, permit: permit, replaced: replaces != nil, bundle: b, err: err}
	}, func(err error) obtained {
		return obtained{from: from, permit: permit, replaced: replaces != nil, err: err}
	})
}

// fetchARI asks the CA for the certificate's renewal window, off the mailbox.
func (a *certActor) fetchARI(ctx actor.Context, b *bundle.Bundle) {
	a.become(a.fetchingARI)
	iss, from := a.deps.Issuer, a.incarnation
	async.Do(ctx, a.log, func() ariFetched {
		w, err := iss.RenewalWindow(b)
		return ariFetched{from: from, fingerprint: b.Fingerprint(), window: w, err: err}
	}, func(err error) ariFetched { return ariFetched{from: from, fingerprint: b.Fingerprint(), err: err} })
}

func (a *certActor) ariFetched(ctx actor.Context, res ariFetched) {
	a.returnToIdle()
	now := a.deps.Now()
	st := a.loadState()
	var prev *store.ARI
	if st.ARI != nil && st.ARI.Certificate == res.fingerprint {
		prev = st.ARI
	}
	ari := schedule.NextARI(prev, res.fingerprint, res.window, res.err, now, a.deps.Jitter)
	switch {
	case errors.Is(res.err, issuer.ErrNoARI):
		if a.once("no_ari") {
			a.log.Info("the CA offers no renewal info; renewing by lifetime", "event", event.ARIUnsupported)
		}
	case res.err != nil:
		a.log.Warn("could not fetch the CA's renewal window; renewing by lifetime meanwhile", "event", event.ARIFailed,
			"error", event.PeerText(res.err.Error()), "retry_at", ari.NextCheck)
	case prev == nil || !prev.RenewAt.Equal(ari.RenewAt):
		a.log.Info("the CA's renewal window", "event", event.ARIWindow, "fingerprint", res.fingerprint,
			"window_start", ari.Start, "window_end", ari.End,
			"renew_at", ari.RenewAt, "next_check", ari.NextCheck)
	}
	st.ARI = ari
	a.saveState(ctx, st)
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
		f, errText = &c, event.PeerText(res.err.Error()) // the CA's detail can be any length
	}
	r := Ordered(a.loadState(), f, errText, now, a.deps.Jitter)
	a.saveState(ctx, r.State)
	ctx.Send(a.deps.Limiter, &messages.OrderFinished{Name: a.name, Permit: res.permit, Outcome: r.Outcome, RetryAt: r.RetryAt, Limit: r.Limit})
	if res.permit == a.permit {
		a.permit = "" // this instance's order: its permit is returned
	}
	switch {
	case f == nil:
		b := res.bundle
		if ahead := b.Leaf.NotBefore.Sub(now); ahead > 0 && a.once("clock_skew") {
			a.log.Warn("the CA's certificate starts after this machine's time: its clock is behind; the certificate is kept",
				"event", event.ClockSkew, "not_before", b.Leaf.NotBefore, "behind_by", ahead.Round(time.Second).String())
		}
		a.log.Info("certificate obtained", "event", event.CertificateObtained, "not_after", b.Leaf.NotAfter,
			"renew_at", schedule.RenewAt(b), "fingerprint", b.Fingerprint(), "replaced", res.replaced)
		a.deploy(ctx, b, false)
	case f.Kind == issuer.NotKept:
		b := res.bundle
		a.unsaved = b
		a.log.Error("certificate obtained but the store could not keep it; it is used and uploaded from memory, and saved again at retry_at",
			"event", event.CertificateNotStored, "not_after", b.Leaf.NotAfter, "fingerprint", b.Fingerprint(), "error", errText,
			"retry_at", r.WakeAt)
		a.deploy(ctx, b, false)
	case f.Kind == issuer.ReplacesRefused:
		a.log.Warn("the CA refused replaces; ordering again without it", "event", event.ARIReplacesRefused, "error", errText)
	case f.Kind == issuer.InFlight:
		a.log.Debug("an order placed before a restart is still running; looking again shortly", "retry_at", r.WakeAt)
	case f.Kind == issuer.Paused:
		a.said["paused"] = true
		a.logPaused(f.UnpauseURL, errText)
	case f.Kind == issuer.RateLimited:
		a.log.Warn("the CA refused the order on a rate limit; waiting for its time", "event", event.RateLimited,
			"limit", f.Limit, "error", errText, "retry_at", r.State.NextAttempt)
	default:
		a.log.Error("certificate order failed", "event", event.IssuanceFailed, "error", errText,
			"outcome", string(r.Outcome), "failures", r.State.Failures, "retry_at", r.State.NextAttempt)
	}
	return r.WakeAt
}

func (a *certActor) logPaused(unpauseURL, errText string) {
	a.log.Error("the CA paused this name; nothing is ordered until an operator unpauses it at unpause_url "+
		"and then runs: provisioner retry-now NAME", "event", event.DomainPaused, "unpause_url", unpauseURL, "error", errText)
}

func (a *certActor) retryNow(ctx actor.Context) {
	st := a.loadState()
	a.saveState(ctx, RetryRequested(st))
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

func (a *certActor) saveState(ctx actor.Context, st store.State) {
	if err := a.deps.Store.SaveState(a.name, st); err != nil {
		a.log.Error("could not persist state", "event", event.StateWriteFailed, "error", err)
	}
	a.deps.Live.setState(a.name, st)
	a.reportTroubles(ctx, st)
}

// reportTroubles tells the parent each kind of trouble that began or ended since it last told.
func (a *certActor) reportTroubles(ctx actor.Context, st store.State) {
	if ctx.Parent() == nil {
		return
	}
	for kind, active := range Troubles(st, a.decision, a.deps.AlertAfterFailures) {
		if a.reported[kind] != active {
			a.reported[kind] = active
			ctx.Send(ctx.Parent(), &messages.Trouble{Name: a.name, Kind: kind, Active: active, Detail: st.LastError})
		}
	}
}

// deploy hands b to the uploader; stored says it comes from the store, not from the CA just now.
func (a *certActor) deploy(ctx actor.Context, b *bundle.Bundle, stored bool) {
	a.deployed = b.Fingerprint()
	ctx.Send(a.deps.Uploader, &messages.DeployCertificate{Name: a.name, Bundle: b.PEM, Parsed: b, Stored: stored})
}
