package ratelimiter

import (
	"time"
)

// horizon is the furthest ahead any time in a sane ledger lies: a full bucket of the slowest
// limit refills within a week, and no CA asks for a month. Later times are a corrupt or tampered
// ledger; they are clamped, not dropped, so a bad file can delay orders but never lift a limit.
const horizon = 30 * 24 * time.Hour

// Clamp brings every time in the ledger to at most now + horizon, so that arithmetic on it stays
// in range (a year past 9999 cannot even be written back).
func (l *Limiter) Clamp(now time.Time) {
	limit := now.Add(horizon)
	clamp := func(t time.Time) time.Time {
		if t.After(limit) {
			return limit
		}
		return t
	}
	for k, t := range l.ledger.TAT {
		l.ledger.TAT[k] = clamp(t)
	}
	for k, t := range l.ledger.Holds {
		l.ledger.Holds[k] = clamp(t)
	}
	l.ledger.HoldAll = clamp(l.ledger.HoldAll)
	for name, r := range l.ledger.Reservations {
		r.At = clamp(r.At)
		l.ledger.Reservations[name] = r
	}
}

// Reopen is for a process start: no order of an earlier process can still be running. A granted
// order that had its slot is left booked for the name's next order, whoever asks (the old process
// was most likely killed before the CA issued; if it did issue, the certificate was stored and no
// order follows). One still waiting for a slot placed nothing and is refunded.
func (l *Limiter) Reopen(now time.Time) {
	for name, r := range l.ledger.Reservations {
		switch {
		case !r.Granted:
		case r.Slot:
			r.Permit, r.Slot = "", false
			l.ledger.Reservations[name] = r
		default:
			delete(l.ledger.Reservations, name)
			for _, k := range r.Buckets {
				l.refund(k, now)
			}
		}
	}
}

// AbandonAll closes every granted reservation without hearing how its order ended, because its
// holder was stopped (the supervisor restarted) while the order may still run in this process. An
// order that had its slot may issue, so its tokens stay spent; one still waiting for a slot placed
// nothing, and is refunded. It returns how many orders stay spent.
func (l *Limiter) AbandonAll(now time.Time) (spent int) {
	for name, r := range l.ledger.Reservations {
		if !r.Granted {
			continue
		}
		delete(l.ledger.Reservations, name)
		if r.Slot {
			spent++
			continue
		}
		for _, k := range r.Buckets {
			l.refund(k, now)
		}
	}
	return spent
}

// Forget drops bookkeeping that no longer matters at now: full buckets, past holds, and
// reservations nobody came back for (the name was removed, or its holder vanished) an hour past
// their time. Their tokens stay spent; they refill on their own.
func (l *Limiter) Forget(now time.Time) {
	for name, r := range l.ledger.Reservations {
		if now.Sub(r.At) > grantLease {
			delete(l.ledger.Reservations, name)
		}
	}
	for k, t := range l.ledger.TAT {
		if !t.After(now) {
			delete(l.ledger.TAT, k)
		}
	}
	for k, t := range l.ledger.Holds {
		if !t.After(now) {
			delete(l.ledger.Holds, k)
		}
	}
}
