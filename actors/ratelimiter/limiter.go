// Package ratelimiter grants or defers every ACME order: the CA's limits (package limits) as token
// buckets (this file), persisted in a ledger, and a cap on orders in flight (package inflight);
// admission.go decides over both.
package ratelimiter

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Order describes an order the limiter is asked about. One certificate covers one name here.
type Order struct {
	Name string
	// Permit identifies the request (messages.PermitRequest.Permit); "" for none.
	Permit string
	// Renewal: a certificate for exactly this name was issued before (non-ARI renewal).
	Renewal bool
	// ARI: the order carries replaces inside the CA's suggested window; exempt from every limit.
	ARI bool
}

// ClockSkew is how much later than our own arithmetic a token is taken to be back: the CA's clock
// is not ours, and an order at the exact instant a token returns may meet a bucket that is, by the
// CA's clock, still a moment short of it.
const ClockSkew = 10 * time.Second

// grantLease is how long a granted order may stay unreported before it counts as finished.
const grantLease = time.Hour

// inFlightRecheck is when a request meets another permit for the name still in use (a restarted
// actor's previous order), how soon to ask again; that order's end usually comes first.
const inFlightRecheck = 30 * time.Second

// Decision answers a request: granted now, or not before At because of limits.Limit.
type Decision struct {
	Granted bool
	At      time.Time
	Limit   messages.Limit
}

// Outcome is how a permitted order ended, as far as the limits care.
type Outcome int

const (
	Issued Outcome = iota
	FailedValidation
	FailedOther // nothing issued and nothing validated: network, CA error, rate limited
)

// Limiter applies a Table to orders. It is plain and clock-driven: the actor gives it the time.
type Limiter struct {
	table  limits.Table
	byName map[messages.Limit]limits.Limit
	ledger Ledger
}

// New returns a limiter over table, resuming from ledger.
func New(table limits.Table, ledger Ledger) *Limiter {
	if ledger.TAT == nil {
		ledger.TAT = map[string]time.Time{}
	}
	if ledger.Holds == nil {
		ledger.Holds = map[string]time.Time{}
	}
	if ledger.Reservations == nil {
		ledger.Reservations = map[string]Reservation{}
	}
	byName := map[messages.Limit]limits.Limit{}
	for _, l := range table {
		byName[l.Name] = l
	}
	return &Limiter{table: table, byName: byName, ledger: ledger}
}

// Ledger returns the state to persist.
func (l *Limiter) Ledger() Ledger { return l.ledger }

// Request asks for a token in every bucket that applies to the order. Granted when all have one
// now. Otherwise the buckets that have none now are booked at the earliest time all of them have
// one, and the order is deferred to exactly that time: asking again earlier changes nothing, and
// at that time the booked tokens are not taken twice. Only the exhausted buckets are booked, so a
// name waiting for its registered domain holds up no other domain's orders.
func (l *Limiter) Request(o Order, now time.Time) Decision {
	r, has := l.ledger.Reservations[o.Name]
	if has && r.Granted && now.Sub(r.At) > grantLease {
		// Granted long ago and never reported (the holder crashed): that order is over, and may
		// well have issued, so its tokens stay spent and this is a new order.
		delete(l.ledger.Reservations, o.Name)
		r, has = Reservation{}, false
	}
	if has && r.Granted {
		switch {
		case samePermit(r.Permit, o.Permit):
			// The same request asked again, or a booking reopened at a start (see Reopen).
			if r.Permit == "" {
				r.Permit, r.Slot = o.Permit, false
				l.ledger.Reservations[o.Name] = r
			}
			return Decision{Granted: true, At: now}
		case !r.Slot:
			// Another request (a previous actor instance's) still waiting for its slot: it placed
			// nothing, so this one takes its booking over.
			r.Permit = o.Permit
			l.ledger.Reservations[o.Name] = r
			return Decision{Granted: true, At: now}
		}
		// Another request's order (a previous actor instance's) may still be running and will
		// report; granting this one too would let two orders share one booking.
		return Decision{At: now.Add(inFlightRecheck), Limit: messages.LimitOrderInFlight}
	}
	if has {
		if at, limit := l.holdFor(r.Buckets, r.At); at.After(now) {
			r.At = at
			l.ledger.Reservations[o.Name] = r
			return Decision{At: at, Limit: limit}
		}
	}
	if o.ARI {
		l.ledger.Reservations[o.Name] = Reservation{At: now, Granted: true, Permit: o.Permit}
		return Decision{Granted: true, At: now}
	}

	booked := map[string]bool{}
	for _, k := range r.Buckets {
		booked[k] = true
	}
	at, limit := now, messages.LimitUnknown
	var blockers, free []limits.Limit
	for _, lim := range l.table {
		if lim.ExemptRenewal && o.Renewal || booked[limits.BucketKey(lim, o.Name)] {
			continue
		}
		t := l.conformsAt(lim, limits.BucketKey(lim, o.Name), now)
		if t.After(now) {
			blockers = append(blockers, lim)
		} else {
			free = append(free, lim)
		}
		if t.After(at) {
			at, limit = t, lim.Name
		}
	}
	if l.ledger.HoldAll.After(at) {
		at, limit = l.ledger.HoldAll, messages.LimitHeldByCA
	}
	granted := !at.After(now)
	take := blockers
	if granted {
		take = free
	}
	for _, lim := range take {
		if lim.Counts == limits.CountsFailedValidation {
			continue // checked, not taken: only a failed validation takes these
		}
		k := limits.BucketKey(lim, o.Name)
		l.ledger.TAT[k] = later(l.ledger.TAT[k], at).Add(lim.Interval())
		r.Buckets = append(r.Buckets, k)
	}
	r.At, r.Granted, r.Permit = at, granted, o.Permit
	l.ledger.Reservations[o.Name] = r
	if granted {
		return Decision{Granted: true, At: now}
	}
	return Decision{At: at, Limit: limit}
}

// SlotTaken records that name's granted order got its slot: from now on it may be placed.
func (l *Limiter) SlotTaken(name string) {
	if r, ok := l.ledger.Reservations[name]; ok && r.Granted {
		r.Slot = true
		l.ledger.Reservations[name] = r
	}
}

// BookIssued records a certificate for name issued at (one recovered from DFP after the store
// was lost) in every bucket that counts issuances, so that losing the volume never lifts a limit.
func (l *Limiter) BookIssued(name string, at time.Time) {
	for _, lim := range l.table {
		if lim.Counts != limits.CountsIssuance {
			continue
		}
		k := limits.BucketKey(lim, name)
		l.ledger.TAT[k] = later(l.ledger.TAT[k], at).Add(lim.Interval())
	}
}

// Report records how name's order under permit ended, and returns whether that ended the name's
// reservation. When the reservation belongs to another permit (this order's grant lapsed and the
// name has asked again since), the reservation stays and nothing is refunded: the tokens this
// order took stay spent. A failed validation counts either way: the CA counted it.
func (l *Limiter) Report(name, permit string, outcome Outcome, now time.Time) bool {
	r, has := l.ledger.Reservations[name]
	mine := !has || samePermit(r.Permit, permit)
	if mine {
		delete(l.ledger.Reservations, name)
		if outcome != Issued {
			for _, k := range r.Buckets {
				l.refund(k, now)
			}
		}
	}
	for _, lim := range l.table {
		k := limits.BucketKey(lim, name)
		switch {
		case lim.Counts == limits.CountsFailedValidation && outcome == FailedValidation:
			l.ledger.TAT[k] = later(l.ledger.TAT[k], now).Add(lim.Interval())
		case lim.ResetOnSuccess && outcome == Issued:
			delete(l.ledger.TAT, k)
		}
	}
	return mine
}

// Hold records the CA's word: limit (by name; "" when the CA did not say which) gives nothing for
// name before until. Reservations that would fall before it move to it when they come due.
func (l *Limiter) Hold(name string, limit messages.Limit, until time.Time) {
	lim, ok := l.byName[limit]
	if !ok {
		l.ledger.HoldAll = later(l.ledger.HoldAll, until.Add(ClockSkew))
		return
	}
	k := limits.BucketKey(lim, name)
	l.ledger.Holds[k] = later(l.ledger.Holds[k], until.Add(ClockSkew))
	// Empty the bucket up to then: at until exactly one token is back.
	l.ledger.TAT[k] = later(l.ledger.TAT[k], until.Add(time.Duration(lim.Capacity-1)*lim.Interval()))
}

// conformsAt is the earliest time the bucket k of lim has a token (plus ClockSkew when it has
// had to wait for one).
func (l *Limiter) conformsAt(lim limits.Limit, k string, now time.Time) time.Time {
	at := now
	if tat, ok := l.ledger.TAT[k]; ok {
		if back := tat.Add(-time.Duration(lim.Capacity-1) * lim.Interval()); back.After(now) {
			at = back.Add(ClockSkew)
		}
	}
	return later(at, l.ledger.Holds[k])
}

// holdFor moves a reservation's time past any hold the CA set since it was booked.
func (l *Limiter) holdFor(buckets []string, at time.Time) (time.Time, messages.Limit) {
	limit := messages.LimitUnknown
	for _, k := range buckets {
		if h := l.ledger.Holds[k]; h.After(at) {
			at, limit = h, messages.LimitHeldByCA
		}
	}
	if l.ledger.HoldAll.After(at) {
		at, limit = l.ledger.HoldAll, messages.LimitHeldByCA
	}
	return at, limit
}

// refund gives back a certificate-counting token of an order that issued nothing.
func (l *Limiter) refund(k string, now time.Time) {
	lim, ok := l.byName[limits.LimitOfKey(k)]
	if !ok || lim.Counts != limits.CountsIssuance {
		return
	}
	tat, ok := l.ledger.TAT[k]
	if !ok {
		return
	}
	l.ledger.TAT[k] = later(tat.Add(-lim.Interval()), now)
}
