package ratelimiter

import (
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

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

// Decision answers a request: granted now, or not before At because of Limit.
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

// Reservation is a place in the buckets booked for a name: the tokens are already taken, at At.
type Reservation struct {
	At time.Time `json:"at"`
	// Buckets already charged for this order; the certificate-counting ones are refunded when
	// nothing is issued.
	Buckets []string `json:"buckets"`
	Granted bool     `json:"granted"`
	// Permit is the request the reservation was granted to; only that order's end releases it.
	Permit string `json:"permit,omitempty"`
	// Slot: the grant was sent with an order slot, so the order may have been placed. A granted
	// reservation still waiting for a slot certainly placed none.
	Slot bool `json:"slot,omitempty"`
}

// Ledger is the limiter's whole state; persisting it is what keeps a restart from lifting a limit.
type Ledger struct {
	// TAT is each bucket's theoretical arrival time (GCRA, as Boulder keeps it): the bucket is full
	// when TAT <= now and has room for one more token when TAT - now <= capacity * interval - interval.
	TAT map[string]time.Time `json:"tat"`
	// Holds are times before which a bucket gives nothing, because the CA said so.
	Holds map[string]time.Time `json:"holds"`
	// HoldAll stops every order until then: the CA limited us without saying which limit.
	HoldAll      time.Time              `json:"hold_all,omitzero"`
	Reservations map[string]Reservation `json:"reservations"`
}

// Limiter applies a Table to orders. It is plain and clock-driven: the actor gives it the time.
type Limiter struct {
	table  Table
	byName map[messages.Limit]Limit
	ledger Ledger
}

// New returns a limiter over table, resuming from ledger.
func New(table Table, ledger Ledger) *Limiter {
	if ledger.TAT == nil {
		ledger.TAT = map[string]time.Time{}
	}
	if ledger.Holds == nil {
		ledger.Holds = map[string]time.Time{}
	}
	if ledger.Reservations == nil {
		ledger.Reservations = map[string]Reservation{}
	}
	byName := map[messages.Limit]Limit{}
	for _, l := range table {
		byName[l.Name] = l
	}
	return &Limiter{table: table, byName: byName, ledger: ledger}
}

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

// Ledger returns the state to persist.
func (l *Limiter) Ledger() Ledger { return l.ledger }

// RegisteredDomain is the name's registered domain by the Public Suffix List, or the name itself.
// A wildcard counts under its base's: "*.example.com" under example.com, as Let's Encrypt counts it.
func RegisteredDomain(name string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimPrefix(name, "*.")); err == nil {
		return d
	}
	return name
}

func (l *Limiter) key(lim Limit, name string) string {
	switch lim.Scope {
	case ScopeAccount:
		return string(lim.Name) + "|account"
	case ScopeRegisteredDomain:
		return string(lim.Name) + "|" + RegisteredDomain(name)
	default:
		return string(lim.Name) + "|" + name
	}
}

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
	var blockers, free []Limit
	for _, lim := range l.table {
		if lim.ExemptRenewal && o.Renewal || booked[l.key(lim, o.Name)] {
			continue
		}
		t := l.conformsAt(lim, l.key(lim, o.Name), now)
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
		if lim.Counts == CountsFailedValidation {
			continue // checked, not taken: only a failed validation takes these
		}
		k := l.key(lim, o.Name)
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
		if lim.Counts != CountsIssuance {
			continue
		}
		k := l.key(lim, name)
		l.ledger.TAT[k] = later(l.ledger.TAT[k], at).Add(lim.Interval())
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
		k := l.key(lim, name)
		switch {
		case lim.Counts == CountsFailedValidation && outcome == FailedValidation:
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
	k := l.key(lim, name)
	l.ledger.Holds[k] = later(l.ledger.Holds[k], until.Add(ClockSkew))
	// Empty the bucket up to then: at until exactly one token is back.
	l.ledger.TAT[k] = later(l.ledger.TAT[k], until.Add(time.Duration(lim.Capacity-1)*lim.Interval()))
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

// conformsAt is the earliest time the bucket k of lim has a token (plus ClockSkew when it has
// had to wait for one).
func (l *Limiter) conformsAt(lim Limit, k string, now time.Time) time.Time {
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
	lim, ok := l.byName[limitOf(k)]
	if !ok || lim.Counts != CountsIssuance {
		return
	}
	tat, ok := l.ledger.TAT[k]
	if !ok {
		return
	}
	l.ledger.TAT[k] = later(tat.Add(-lim.Interval()), now)
}

func limitOf(k string) messages.Limit {
	limit, _, _ := strings.Cut(k, "|")
	return messages.Limit(limit)
}

// samePermit: "" (a ledger written before permits had ids, or a caller without one) matches any.
func samePermit(a, b string) bool { return a == "" || b == "" || a == b }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Absorb adds another writer's ledger to this one's: no limit either books is lifted, and this
// limiter's own reservations stay as they are.
func (l *Limiter) Absorb(other Ledger) { l.ledger = MergeLedgers(l.ledger, other) }

// MergeLedgers is the ledger that books everything either books: for every bucket the later
// theoretical arrival time and hold, and every reservation (kept's where both have one). Moving a
// store into another that already has a ledger must not lift a limit either one keeps.
func MergeLedgers(kept, added Ledger) Ledger {
	out := Ledger{TAT: map[string]time.Time{}, Holds: map[string]time.Time{}, HoldAll: later(kept.HoldAll, added.HoldAll),
		Reservations: map[string]Reservation{}}
	for _, l := range []Ledger{added, kept} {
		for k, t := range l.TAT {
			out.TAT[k] = later(out.TAT[k], t)
		}
		for k, t := range l.Holds {
			out.Holds[k] = later(out.Holds[k], t)
		}
		for name, r := range l.Reservations {
			out.Reservations[name] = r // kept's last, so kept's wins
		}
	}
	return out
}
