package ratelimiter

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/inflight"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Admission is the one place that decides what a request for an order gets. Two things must
// agree: the CA's limits (Limiter, whose tokens persist in the ledger) and the cap on orders in
// flight (Slots, which lives only in this process). The actor routes the answer; it decides
// nothing.

// Verdict is what a request gets.
type Verdict int

const (
	// Defer: a limit binds; ask again at Until. Only the exhausted buckets are booked.
	Defer Verdict = iota
	// Grant: tokens taken and an order slot held; the order may be placed now.
	Grant
	// Wait: tokens taken, but every slot is in use; the grant follows when a slot frees (Release).
	Wait
)

// Admission is a request's answer.
type Admission struct {
	Verdict Verdict
	Until   time.Time      // Defer
	Limit   messages.Limit // Defer: which limit binds
}

// Admit decides a request: the limits first, so that a name the CA would refuse never takes a
// slot from one it would accept; then a slot, in arrival order.
func Admit(limits *Limiter, slots *inflight.Slots, o Order, now time.Time) Admission {
	d := limits.Request(o, now)
	switch {
	case !d.Granted:
		return Admission{Verdict: Defer, Until: d.At, Limit: d.Limit}
	case slots.Request(o.Name, now):
		limits.SlotTaken(o.Name)
		return Admission{Verdict: Grant}
	default:
		return Admission{Verdict: Wait}
	}
}

// TakeBack turns a grant into a deferral when the ledger that books it could not be written:
// granting an order that a restart would forget could exceed a limit. Its booking is refunded
// and its slot freed. The names the slot passes to are returned: they hold it, but are not told
// now (a broken disk must not spin); they get it when they ask again.
func TakeBack(limits *Limiter, slots *inflight.Slots, name, permit string, now time.Time) (Admission, []string) {
	limits.Report(name, permit, FailedOther, now)
	passed := slots.Release(name, now)
	return Admission{Verdict: Defer, Until: now.Add(unwritableRetry), Limit: messages.LimitLedgerUnwritable}, passed
}
