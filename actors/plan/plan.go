// Package plan foresees the next days of orders: each name's renewals and first certificates, the
// rate limits they meet, and the proxy reloads they cost. It decides nothing of its own: every
// order goes through the limiter the service asks (ratelimiter.Limiter.Request, over a copy of its
// ledger), renewals fall due by the schedule's rules, and each issued certificate is one upload,
// so one HAProxy reload.
//
// What it assumes: every order it lets through issues (a failing name's next attempt succeeds);
// future certificates renew by the lifetime rule (their CA windows are not known yet) and without
// ARI's exemption, which only spares them limits that renewals rarely meet; the cap on orders in
// flight is not modelled, since it delays orders by seconds, not days.
package plan

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Name is one name as the store knows it.
type Name struct {
	Name string
	// NotBefore and NotAfter are the stored certificate's (zero NotAfter: none yet).
	NotBefore, NotAfter time.Time
	// DueAt is when the service renews it (schedule.DueTime, with the CA's window when known),
	// and InWindow says that renewal is inside the window: it carries "replaces" and is exempt.
	DueAt    time.Time
	InWindow bool
	// Failures and NextAttempt are the retry state; Paused, that the CA paused the name.
	Failures    int
	NextAttempt time.Time
	Paused      bool
	// Added: a what-if name, not in the store.
	Added bool
}

// Input is what the plan starts from.
type Input struct {
	Now  time.Time
	Days int
	// Table is the service's (with its margin); Ledger its ledger as stored, which the plan copies.
	Table    limits.Table
	Ledger   ratelimiter.Ledger
	Lifetime Lifetime
	Names    []Name
}

// Plan is the horizon day by day, and when each name still without a certificate gets one.
type Plan struct {
	From    time.Time `json:"from"`
	Days    []Day     `json:"days"`
	Pending []Pending `json:"pending"`
	// Binding is each limit that defers an order, with the first time it does.
	Binding []Binding `json:"binding"`
	Totals  Totals    `json:"totals"`
}

// Day is one UTC calendar day.
type Day struct {
	Date     string `json:"date"`
	Renewals int    `json:"renewals"`
	New      int    `json:"new"`
	// Reloads: every issued certificate is one upload to DFP, so one HAProxy reload.
	Reloads int `json:"reloads"`
	// Deferred counts the orders a limit put off that day (one issuance_deferred line each).
	Deferred int `json:"deferred,omitempty"`
	// Tokens is what the day's orders took, by limit; Left the fewest tokens any bucket of a limit
	// holds at the day's end, for the limits with a bucket not full.
	Tokens map[messages.Limit]int `json:"tokens,omitempty"`
	Left   map[messages.Limit]int `json:"left,omitempty"`
}

// Pending is a name without a certificate: when it gets one, and what it waits for.
type Pending struct {
	Name  string `json:"name"`
	Added bool   `json:"added,omitempty"`
	// State is "new", "failing" (its first orders failed) or "paused" (by the CA: never planned).
	State string `json:"state"`
	// At is when its order is let through (zero: not within the horizon).
	At time.Time `json:"at,omitzero"`
	// WaitsFor is the limit that held it last, until Until ("": none did).
	WaitsFor messages.Limit `json:"waits_for,omitempty"`
	Until    time.Time      `json:"until,omitzero"`
}

// Binding is the first time a limit defers an order.
type Binding struct {
	Limit messages.Limit `json:"limit"`
	At    time.Time      `json:"at"`
	Name  string         `json:"name"`
}

// Totals sums the days.
type Totals struct {
	Renewals int `json:"renewals"`
	New      int `json:"new"`
	Reloads  int `json:"reloads"`
	Deferred int `json:"deferred"`
}

// Pending states.
const (
	StateNew     = "new"
	StateFailing = "failing"
	StatePaused  = "paused"
)

// Build plans in.Days days from in.Now.
func Build(in Input) (Plan, error) {
	if in.Days < 1 || in.Lifetime == nil {
		return Plan{}, fmt.Errorf("plan: %d days with lifetime %v: want at least a day and a lifetime", in.Days, in.Lifetime != nil)
	}
	ledger, err := copyLedger(in.Ledger)
	if err != nil {
		return Plan{}, err
	}
	limiter := ratelimiter.New(in.Table, ledger)
	first := time.Date(in.Now.Year(), in.Now.Month(), in.Now.Day(), 0, 0, 0, 0, time.UTC)
	end := first.Add(time.Duration(in.Days) * 24 * time.Hour)
	p := Plan{From: in.Now, Days: make([]Day, in.Days)}
	for i := range p.Days {
		p.Days[i] = Day{Date: first.AddDate(0, 0, i).Format(time.DateOnly), Tokens: map[messages.Limit]int{}, Left: map[messages.Limit]int{}}
	}
	dayOf := func(t time.Time) *Day { return &p.Days[int(t.Sub(first)/(24*time.Hour))] }

	var q queue
	names := map[string]*planned{}
	pendingAt := map[string]int{}
	for _, n := range in.Names {
		pl := &planned{Name: n}
		names[n.Name] = pl
		at := laterOf(in.Now, n.NextAttempt)
		if !n.NotAfter.IsZero() {
			at = laterOf(at, n.DueAt)
		} else {
			state := StateNew
			switch {
			case n.Paused:
				state = StatePaused
			case n.Failures > 0:
				state = StateFailing
			}
			pendingAt[n.Name] = len(p.Pending)
			p.Pending = append(p.Pending, Pending{Name: n.Name, Added: n.Added, State: state})
		}
		if !n.Paused {
			heap.Push(&q, item{at: at, name: n.Name})
		}
	}
	bound := map[messages.Limit]bool{}
	nextDayEnd := first.Add(24 * time.Hour)
	for q.Len() > 0 && q[0].at.Before(end) {
		it := heap.Pop(&q).(item)
		for !it.at.Before(nextDayEnd) { // the days before this order are over: read their buckets
			recordLeft(dayOf(nextDayEnd.Add(-time.Hour)), limiter.Ledger(), in.Table, nextDayEnd)
			nextDayEnd = nextDayEnd.Add(24 * time.Hour)
		}
		pl := names[it.name]
		renewal := !pl.NotAfter.IsZero()
		order := ratelimiter.Order{Name: it.name, Renewal: renewal, ARI: renewal && pl.InWindow}
		d := limiter.Request(order, it.at)
		day := dayOf(it.at)
		if !d.Granted {
			if d.Limit == messages.LimitUnknown { // a booking made earlier: Request names no limit again
				d.Limit = ratelimiter.BlockingLimit(limiter.Ledger().Reservations[it.name], limiter.Ledger(), in.Table, it.at)
			}
			day.Deferred++
			if !bound[d.Limit] {
				bound[d.Limit] = true
				p.Binding = append(p.Binding, Binding{Limit: d.Limit, At: it.at, Name: it.name})
			}
			if i, ok := pendingAt[it.name]; ok {
				p.Pending[i].WaitsFor, p.Pending[i].Until = d.Limit, d.At
			}
			heap.Push(&q, item{at: d.At, name: it.name})
			continue
		}
		limiter.Report(it.name, "", ratelimiter.Issued, it.at)
		for _, lim := range tokensTaken(in.Table, order) {
			day.Tokens[lim]++
		}
		if renewal {
			day.Renewals++
		} else {
			day.New++
			if i, ok := pendingAt[it.name]; ok {
				p.Pending[i].At = it.at
			}
		}
		day.Reloads++
		life := in.Lifetime(it.at)
		pl.NotBefore, pl.NotAfter, pl.InWindow = it.at, it.at.Add(life), false
		heap.Push(&q, item{at: schedule.RenewTime(pl.NotBefore, pl.NotAfter), name: it.name})
	}
	for ; !nextDayEnd.After(end); nextDayEnd = nextDayEnd.Add(24 * time.Hour) {
		recordLeft(dayOf(nextDayEnd.Add(-time.Hour)), limiter.Ledger(), in.Table, nextDayEnd)
	}
	for _, d := range p.Days {
		p.Totals.Renewals += d.Renewals
		p.Totals.New += d.New
		p.Totals.Reloads += d.Reloads
		p.Totals.Deferred += d.Deferred
	}
	return p, nil
}

// planned is a name's certificate as the plan goes on.
type planned struct{ Name }

// tokensTaken is the limits an order let through takes a token from: as Request charges them,
// none for a renewal in the CA's window, none of the renewal-exempt ones for another renewal,
// and none that only a failed validation takes.
func tokensTaken(table limits.Table, o ratelimiter.Order) []messages.Limit {
	if o.ARI {
		return nil
	}
	var out []messages.Limit
	for _, lim := range table {
		if lim.Counts == limits.CountsFailedValidation || lim.ExemptRenewal && o.Renewal {
			continue
		}
		out = append(out, lim.Name)
	}
	return out
}

// recordLeft notes in day the fewest tokens left at end in any bucket of each limit not full.
func recordLeft(day *Day, ledger ratelimiter.Ledger, table limits.Table, end time.Time) {
	for key, tat := range ledger.TAT {
		lim, ok := table.Named(limits.LimitOfKey(key))
		if !ok || !tat.After(end) {
			continue
		}
		left, _ := ratelimiter.TokensLeft(lim, tat, end)
		if have, seen := day.Left[lim.Name]; !seen || left < have {
			day.Left[lim.Name] = left
		}
	}
}

// copyLedger is a deep copy, through the ledger's stored form: the plan never changes the
// service's.
func copyLedger(l ratelimiter.Ledger) (ratelimiter.Ledger, error) {
	data, err := json.Marshal(l)
	if err != nil {
		return ratelimiter.Ledger{}, fmt.Errorf("plan: %w", err)
	}
	var out ratelimiter.Ledger
	if err := json.Unmarshal(data, &out); err != nil {
		return ratelimiter.Ledger{}, fmt.Errorf("plan: %w", err)
	}
	return out, nil
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

type item struct {
	at   time.Time
	name string
}

// queue is the names by when they next ask, earliest first (by name on a tie, so a plan is the
// same every time).
type queue []item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].name < q[j].name
	}
	return q[i].at.Before(q[j].at)
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
