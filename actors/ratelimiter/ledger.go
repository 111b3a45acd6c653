package ratelimiter

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
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

// Booking is one certificate the CA issued: its name and when (its not-before).
type Booking struct {
	Name string
	At   time.Time
}

// RebuildLedger is a ledger with each booking counted as issued, for when the ledger is lost or
// torn but the certificates are not: without it every limit would start full.
func RebuildLedger(table limits.Table, bookings []Booking) Ledger {
	l := New(table, Ledger{})
	for _, b := range bookings {
		l.BookIssued(b.Name, b.At)
	}
	return l.Ledger()
}
