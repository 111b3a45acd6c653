package certificate

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// This file is the certificate lifecycle as plain functions: what the stored certificate and
// state mean now (Decide), and what the end of each piece of work means for the state (Ordered,
// PreflightFailed). The actor loads, calls, saves, sends and sets timers; every rule is here.

// Facts is what the actor knows when it decides.
type Facts struct {
	Now   time.Time
	State store.State
	// Stored is the certificate in the store for the name from this CA, parsed; nil when there is
	// none or it does not parse. Usable says whether it is valid for the name now.
	Stored *bundle.Bundle
	Usable bool
	// Preflight: a free check runs before any permit is asked for.
	Preflight bool
}

// Step is what the actor does next.
type Step int

const (
	// Wait: nothing to do until Decision.At (renewal time, retry time or the next ARI check).
	Wait Step = iota
	// FetchARI: ask the CA for the stored certificate's renewal window first.
	FetchARI
	// CheckFirst: run the pre-flight check, then ask for a permit.
	CheckFirst
	// AskPermit: ask the rate limiter for a permit to order.
	AskPermit
	// StayPaused: the CA paused the name; nothing happens until an operator's retry-now.
	StayPaused
)

// WaitReason says why a Wait waits.
type WaitReason int

const (
	UntilDue   WaitReason = iota // the certificate is not due yet (or its ARI check is)
	UntilRetry                   // backing off after failures, or the CA's time
)

// Decision is the next step and what goes with it.
type Decision struct {
	Step Step
	At   time.Time  // for Wait
	Why  WaitReason // for Wait
	// Renewal: a certificate from this CA for exactly this name exists (for the limits).
	Renewal bool
	// Due is when the stored certificate fell due; set when it is due now.
	Due time.Time
	// Replaces: the order names the stored certificate in ARI "replaces", and InWindow says the
	// order is inside the CA's window and so exempt from the rate limits.
	Replaces, InWindow bool
	// Expiring: the stored certificate (even an expired one) is past its alarm time.
	Expiring bool
	// Spaced: the CA's window would renew the stored certificate before it is a day old, and
	// its renewal is held back to then (schedule.Spaced).
	Spaced bool
}

// Decide is the lifecycle's one decision: given the facts, what now.
func Decide(f Facts) Decision {
	d := Decision{Renewal: f.Stored != nil}
	if f.Stored != nil && f.Now.After(schedule.AlarmTime(f.Stored)) {
		d.Expiring = true
	}
	if f.Usable {
		ari := schedule.WindowOf(f.Stored, f.State.ARI)
		if ari == nil || !f.Now.Before(ari.NextCheck) {
			d.Step = FetchARI
			return d
		}
		d.Spaced = schedule.Spaced(f.Stored, ari)
		due := schedule.DueTime(f.Stored, ari)
		if f.Now.Before(due) {
			at := due
			if ari.NextCheck.Before(at) {
				at = ari.NextCheck
			}
			d.Step, d.At, d.Why = Wait, at, UntilDue
			return d
		}
		d.Due = due
		if ari.Usable() {
			d.Replaces = true
			d.InWindow = !f.Now.Before(ari.Start) && !f.Now.After(ari.End)
		}
	}
	switch {
	case f.State.PausedURL != "":
		d.Step = StayPaused
	case f.Now.Before(f.State.NextAttempt):
		d.Step, d.At, d.Why = Wait, f.State.NextAttempt, UntilRetry
	case f.Preflight:
		d.Step = CheckFirst
	default:
		d.Step = AskPermit
	}
	return d
}

// inFlightRecheck is how long to wait when another instance's order for the name is still running.
const inFlightRecheck = 30 * time.Second

// SaveRetry is how soon a certificate the store could not keep is saved again.
const SaveRetry = time.Minute

// Result is what an order's end means: the state to persist, what the rate limiter is told, and
// when to look again (zero: not until something else happens).
type Result struct {
	State   store.State
	Outcome messages.Outcome
	RetryAt time.Time      // for the limiter, with OutcomeRateLimited
	Limit   messages.Limit // likewise
	WakeAt  time.Time
}

// Ordered is the state after an order ended: f is nil when a certificate was issued and stored.
func Ordered(st store.State, f *issuer.Failure, errText string, now time.Time, jitter schedule.Jitter) Result {
	if f == nil {
		// Issued: failures, pause and the old certificate's window are over. Look again at once,
		// which fetches the new certificate's window.
		return Result{State: store.State{LastAttempt: now}, Outcome: messages.OutcomeIssued, WakeAt: now}
	}
	switch f.Kind {
	case issuer.ReplacesRefused:
		// RFC 9773 trap: 409 alreadyReplaced, or 403 after an account change. Order again at once,
		// without replaces and so through the ordinary limits.
		if st.ARI != nil {
			ari := *st.ARI
			ari.ReplacesRefused = true
			st.ARI = &ari
		}
		return Result{State: st, Outcome: messages.OutcomeNotOrdered, WakeAt: now}
	case issuer.InFlight:
		// A previous instance's order is still running and stores its result itself: look again
		// shortly instead of ordering twice.
		return Result{State: st, Outcome: messages.OutcomeNotOrdered, WakeAt: now.Add(inFlightRecheck)}
	case issuer.Paused:
		st.PausedURL, st.LastError, st.LastAttempt = f.UnpauseURL, errText, now
		return Result{State: st, Outcome: messages.OutcomePaused}
	case issuer.RateLimited:
		if !f.RetryAt.After(now) {
			// The CA's time is missing or already past: the normal backoff, never sooner.
			st = failed(st, errText, now, jitter)
			return Result{State: st, Outcome: messages.OutcomeRateLimited, RetryAt: st.NextAttempt, Limit: f.Limit, WakeAt: st.NextAttempt}
		}
		st.LastError, st.LastAttempt = errText, now
		// Never before the CA's time; spread a little after it so held names do not return at once.
		st.NextAttempt = f.RetryAt.Add(jitter(min(time.Minute, f.RetryAt.Sub(now)/10+time.Millisecond)))
		return Result{State: st, Outcome: messages.OutcomeRateLimited, RetryAt: f.RetryAt, Limit: f.Limit, WakeAt: st.NextAttempt}
	case issuer.ValidationFailed:
		st = failed(st, errText, now, jitter)
		return Result{State: st, Outcome: messages.OutcomeValidationFailed, WakeAt: st.NextAttempt}
	case issuer.NotKept:
		// Issued: the actor keeps the certificate, uploads it and saves it again shortly.
		return Result{State: store.State{LastAttempt: now, LastError: errText}, Outcome: messages.OutcomeIssued, WakeAt: now.Add(SaveRetry)}
	case issuer.IssuedUnusable:
		// The CA counted a certificate: so does the limiter; the next order waits as after a failure.
		st = failed(st, errText, now, jitter)
		return Result{State: st, Outcome: messages.OutcomeIssued, WakeAt: st.NextAttempt}
	default:
		st = failed(st, errText, now, jitter)
		return Result{State: st, Outcome: messages.OutcomeFailed, WakeAt: st.NextAttempt}
	}
}

// PreflightFailed is the state after a failed pre-flight: it spends nothing at the CA but backs
// off like a failed order.
func PreflightFailed(st store.State, errText string, now time.Time, jitter schedule.Jitter) store.State {
	return failed(st, errText, now, jitter)
}

// RetryRequested is the state after an operator's "retry now": no backoff, no pause. The failure
// count stays, so a name that fails again backs off from where it was.
func RetryRequested(st store.State) store.State {
	st.NextAttempt, st.PausedURL = time.Time{}, ""
	return st
}

// failed counts a failure and sets the next attempt on Let's Encrypt's schedule, plus up to 10%.
func failed(st store.State, errText string, now time.Time, jitter schedule.Jitter) store.State {
	st.Failures++
	st.LastError = errText
	st.LastAttempt = now
	d := schedule.RetryDelay(st.Failures)
	st.NextAttempt = now.Add(d + jitter(d/10+1))
	return st
}

// Troubles is, for each kind of trouble the certificate actor reports, whether the name is in it:
// paused by the CA, failing afterFailures times in a row (0: never reported), expiring, or its
// renewals held back by the spacing of young certificates.
func Troubles(st store.State, d Decision, afterFailures int) map[string]bool {
	return map[string]bool{
		messages.TroublePaused:   st.PausedURL != "",
		messages.TroubleFailing:  afterFailures > 0 && st.Failures >= afterFailures,
		messages.TroubleExpiring: d.Expiring,
		messages.TroubleSpaced:   d.Spaced,
	}
}
