// Package schedule is when a certificate is renewed and when a failed order is tried again:
// plain functions of the certificate, its CA's renewal window and the time, which the certificate
// actor decides with (Decide) and status shows.
package schedule

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// retrySchedule is Let's Encrypt's integration guide: retry after 1 min, 10 min, 100 min, then at
// most once a day.
var retrySchedule = []time.Duration{time.Minute, 10 * time.Minute, 100 * time.Minute, 24 * time.Hour}

// RetryDelay is the wait after the n-th consecutive failure (n >= 1), before jitter.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > len(retrySchedule) {
		n = len(retrySchedule)
	}
	return retrySchedule[n-1]
}

// RenewAt is when a certificate is due without ARI: when a third of its lifetime remains, or half
// for certificates valid under 10 days (Let's Encrypt's integration guide; never a fixed 60 days).
func RenewAt(b *bundle.Bundle) time.Time {
	return RenewTime(b.Leaf.NotBefore, b.Leaf.NotAfter)
}

// RenewTime is RenewAt for a validity period.
func RenewTime(notBefore, notAfter time.Time) time.Time {
	life := notAfter.Sub(notBefore)
	remaining := life / 3
	if life < 10*24*time.Hour {
		remaining = life / 2
	}
	return notAfter.Add(-remaining)
}

// emergencyFraction of the lifetime left renews whatever the CA's window says.
const emergencyFraction = 10

// DueTime is when the certificate should be renewed: inside the CA's window when it gave one, else
// by lifetime (RenewAt); and in any case once only a tenth of its lifetime is left.
//
// A window that starts at issuance and ends well after a third of the lifetime is no reason to
// renew a fresh certificate: renewals wait for that third unless the window itself ends sooner (a
// revoked certificate). Without that floor a window that opens at notBefore lets each new
// certificate be renewed at once, the runaway loop of cert-manager #8993. And even a window that
// ends early renews a certificate no sooner than YoungestRenewed after its issuance: a CA whose
// every window is already over would otherwise have each new certificate renewed at once, for
// ever, and those renewals are exempt from the limits.
func DueTime(b *bundle.Bundle, ari *store.ARI) time.Time {
	due := RenewAt(b)
	if byWindow, ok := windowDue(b, ari); ok {
		due = maxTime(byWindow, b.Leaf.NotBefore.Add(YoungestRenewed(b)))
	}
	return minTime(due, EmergencyTime(b))
}

// Spaced says that the CA's window would renew b before it is YoungestRenewed old, and DueTime
// holds the renewal back: either the CA renews every new certificate at once (a loop the
// operator must hear of) or it revoked a certificate issued less than a day ago.
func Spaced(b *bundle.Bundle, ari *store.ARI) bool {
	byWindow, ok := windowDue(b, ari)
	return ok && byWindow.Before(b.Leaf.NotBefore.Add(YoungestRenewed(b)))
}

// windowDue is the renewal time the CA's window gives, with the floor for windows that open at
// issuance; ok is false without a window.
func windowDue(b *bundle.Bundle, ari *store.ARI) (due time.Time, ok bool) {
	if ari == nil || ari.RenewAt.IsZero() {
		return time.Time{}, false
	}
	due = ari.RenewAt
	if floor := b.Leaf.NotBefore.Add(b.Lifetime() / 3); ari.End.After(floor) && due.Before(floor) {
		due = floor
	}
	return due, true
}

// YoungestRenewed is the least age at which the CA's window may renew a certificate: a day, or a
// tenth of the lifetime when that is shorter (a six-day certificate: 14.4 hours).
func YoungestRenewed(b *bundle.Bundle) time.Duration { return min(24*time.Hour, b.Lifetime()/10) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// AlarmTime is when a certificate that should have been renewed at EmergencyTime at the latest
// has only a twentieth of its lifetime left: time to wake somebody.
func AlarmTime(b *bundle.Bundle) time.Time {
	return b.Leaf.NotAfter.Add(-b.Lifetime() / (2 * emergencyFraction))
}

// EmergencyTime is when only a tenth of the certificate's lifetime is left.
func EmergencyTime(b *bundle.Bundle) time.Time {
	return b.Leaf.NotAfter.Add(-b.Lifetime() / emergencyFraction)
}

// ARI polling: Let's Encrypt asks for at least two checks a day, and to honour Retry-After.
const (
	ariDefaultRecheck = 12 * time.Hour
	ariMaxRecheck     = 24 * time.Hour
	ariMinRecheck     = time.Minute
	ariErrorRecheck   = time.Hour
)

// NextARI is the renewal state after asking the CA: a random renewal time inside a new window (kept
// while the window stays the same), and when to ask again.
func NextARI(prev *store.ARI, fingerprint string, w issuer.Window, err error, now time.Time, jitter Jitter) *store.ARI {
	next := &store.ARI{Certificate: fingerprint}
	if prev != nil {
		next.ReplacesRefused = prev.ReplacesRefused
	}
	switch {
	case errors.Is(err, issuer.ErrNoARI):
		next.Unsupported = true
		next.NextCheck = now.Add(ariMaxRecheck)
	case err != nil:
		if prev != nil { // keep the window we had; ask again sooner
			next.Start, next.End, next.RenewAt = prev.Start, prev.End, prev.RenewAt
		}
		next.NextCheck = now.Add(ariErrorRecheck)
	default:
		next.Start, next.End = w.Start, w.End
		if prev != nil && prev.Start.Equal(w.Start) && prev.End.Equal(w.End) {
			next.RenewAt = prev.RenewAt
		} else {
			next.RenewAt = w.Start.Add(jitter(w.End.Sub(w.Start)))
		}
		recheck := ariDefaultRecheck
		if w.RetryAfter > 0 {
			recheck = min(max(w.RetryAfter, ariMinRecheck), ariMaxRecheck)
		}
		next.NextCheck = now.Add(recheck)
	}
	return next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// WindowOf is the renewal window kept in a name's state if it belongs to certificate b, else nil: a
// window belongs to one certificate, and a previous one's is never trusted.
func WindowOf(b *bundle.Bundle, ari *store.ARI) *store.ARI {
	if ari == nil || b == nil || ari.Certificate != b.Fingerprint() {
		return nil
	}
	return ari
}

// Jitter returns a random duration in [0, n); 0 when n <= 0. Tests pass a fixed one.
type Jitter func(n time.Duration) time.Duration

// RandomJitter is the service's Jitter.
func RandomJitter(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(n)))
}

// Summary is what a person is shown of a stored certificate, by the rules Decide uses.
type Summary struct {
	NotBefore, NotAfter time.Time
	// RenewAt is when it is due (DueTime); ByARI says the CA's window set it.
	RenewAt time.Time
	ByARI   bool
}

// SummaryOf summarises b with its state's ARI window (kept only if it is b's: WindowOf).
func SummaryOf(b *bundle.Bundle, ari *store.ARI) Summary {
	window := WindowOf(b, ari)
	return Summary{NotBefore: b.Leaf.NotBefore, NotAfter: b.Leaf.NotAfter, RenewAt: DueTime(b, window),
		ByARI: window != nil && !window.RenewAt.IsZero()}
}
