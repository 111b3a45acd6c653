package ratelimiter

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// A permit is one request: asking again with it is the same request; another request for the
// name waits while it is in use; only its own order's end releases it.
func TestPermits(t *testing.T) {
	const name = "a.example.com"
	exactSet := "certificates_per_exact_set|" + name
	type step struct {
		at      time.Duration
		request string // a permit asks (Renewal) and, if slot, gets its order slot; or
		slot    bool
		report  string // that permit's order ends with outcome
		outcome Outcome
	}
	cases := []struct {
		name      string
		steps     []step
		granted   bool           // the last request's answer
		limit     messages.Limit // when deferred
		mine      bool           // the last report's answer
		tokens    int            // exact-set tokens not yet back after the last step
		permitNow string         // the reservation's permit at the end ("" none)
	}{
		{name: "the same request asked again after a timeout is granted once",
			steps:   []step{{request: "p1"}, {at: time.Minute, request: "p1"}},
			granted: true, tokens: 1, permitNow: "p1"},
		{name: "another request while the permit is in use waits for its order",
			steps:   []step{{request: "p1", slot: true}, {at: time.Minute, request: "p2"}},
			granted: false, limit: messages.LimitOrderInFlight, tokens: 1, permitNow: "p1"},
		{name: "another request while the permit still waits for a slot takes the booking over",
			steps:   []step{{request: "p1"}, {at: time.Minute, request: "p2"}},
			granted: true, tokens: 1, permitNow: "p2"},
		{name: "a restarted actor's order ends: its own report releases and refunds",
			steps: []step{{request: "p1", slot: true}, {at: time.Minute, request: "p2"}, {at: 2 * time.Minute, report: "p1", outcome: FailedOther},
				{at: 3 * time.Minute, request: "p2"}},
			granted: true, mine: true, tokens: 1, permitNow: "p2"},
		{name: "an unused grant given back by a newer instance refunds nothing of the newer order",
			steps:   []step{{request: "p1", slot: true}, {at: time.Minute, report: "p9", outcome: FailedOther}},
			granted: true, mine: false, tokens: 1, permitNow: "p1"},
		{name: "a grant that lapsed: the new order books anew, the old order's late end changes nothing",
			steps:   []step{{request: "p1"}, {at: 2 * time.Hour, request: "p2"}, {at: 2*time.Hour + time.Minute, report: "p1", outcome: FailedOther}},
			granted: true, mine: false, tokens: 2, permitNow: "p2"},
		{name: "a ledger from before permits had ids matches any permit",
			steps:   []step{{request: ""}, {at: time.Minute, request: "p1"}, {at: 2 * time.Minute, report: "p1", outcome: Issued}},
			granted: true, mine: true, tokens: 1, permitNow: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := New(limits.Production, Ledger{})
			var last Decision
			mine := false
			end := t0
			for _, s := range c.steps {
				now := t0.Add(s.at)
				end = now
				if s.report != "" {
					mine = l.Report(name, s.report, s.outcome, now)
					continue
				}
				last = l.Request(Order{Name: name, Permit: s.request, Renewal: true}, now)
				if s.slot && last.Granted {
					l.SlotTaken(name)
				}
			}
			if last.Granted != c.granted || (!c.granted && last.Limit != c.limit) {
				t.Fatalf("last request = %+v, want granted=%v limit=%q", last, c.granted, c.limit)
			}
			if mine != c.mine {
				t.Errorf("last report ended the reservation = %v, want %v", mine, c.mine)
			}
			lim := named(t, limits.Production, messages.LimitCertificatesPerExactSet)
			spent := 0
			if tat, ok := l.Ledger().TAT[exactSet]; ok {
				spent = int((tat.Sub(end) + lim.Interval() - 1) / lim.Interval()) // tokens not yet back
			}
			if spent != c.tokens {
				t.Errorf("exact-set tokens spent = %d, want %d", spent, c.tokens)
			}
			if r := l.Ledger().Reservations[name]; r.Permit != c.permitNow {
				t.Errorf("reservation permit = %q, want %q", r.Permit, c.permitNow)
			}
		})
	}
}

// At a start, or after the supervisor's restart, every holder is gone: an order that had its slot
// may have issued and stays spent; one still waiting for a slot placed nothing and is refunded.
func TestAbandonAll(t *testing.T) {
	l := New(limits.Production, Ledger{})
	l.Request(Order{Name: "ordering.example.com", Permit: "p1"}, t0)
	l.SlotTaken("ordering.example.com")
	l.Request(Order{Name: "waiting.example.org", Permit: "p2"}, t0)
	if spent := l.AbandonAll(t0.Add(time.Minute)); spent != 1 {
		t.Fatalf("AbandonAll = %d orders spent, want 1 (the one with a slot)", spent)
	}
	if n := len(l.Ledger().Reservations); n != 0 {
		t.Fatalf("%d granted reservations left: %v", n, l.Ledger().Reservations)
	}
	exact := func(name string) bool {
		tat, ok := l.Ledger().TAT["certificates_per_exact_set|"+name]
		return ok && tat.After(t0.Add(time.Minute))
	}
	if !exact("ordering.example.com") {
		t.Error("the order that had its slot was refunded; it may have issued")
	}
	if exact("waiting.example.org") {
		t.Error("the order still waiting for a slot stays spent; it placed nothing")
	}
}

// At a process start no order of the old process runs any more: an order that had its slot
// leaves its booking to the name's next order, one still waiting for a slot is refunded.
func TestReopen(t *testing.T) {
	l := New(limits.Production, Ledger{})
	l.Request(Order{Name: "ordering.example.com", Permit: "p1"}, t0)
	l.SlotTaken("ordering.example.com")
	l.Request(Order{Name: "waiting.example.org", Permit: "p2"}, t0)
	l.Reopen(t0.Add(time.Minute))
	before := l.Ledger().TAT["certificates_per_exact_set|ordering.example.com"]
	if d := l.Request(Order{Name: "ordering.example.com", Permit: "next-process"}, t0.Add(2*time.Minute)); !d.Granted {
		t.Fatalf("the next process's order = %+v, want granted on the reopened booking", d)
	}
	if after := l.Ledger().TAT["certificates_per_exact_set|ordering.example.com"]; !after.Equal(before) {
		t.Errorf("the reopened booking was charged again: %s -> %s", before, after)
	}
	if r := l.Ledger().Reservations["ordering.example.com"]; r.Permit != "next-process" {
		t.Errorf("reservation permit = %q, want the new order's", r.Permit)
	}
	if _, ok := l.Ledger().Reservations["waiting.example.org"]; ok {
		t.Error("the order that was still waiting for a slot is still booked")
	}
	if tat, ok := l.Ledger().TAT["certificates_per_exact_set|waiting.example.org"]; ok && tat.After(t0.Add(time.Minute)) {
		t.Error("the order that was still waiting for a slot was not refunded")
	}
}

// A reservation nobody comes back for (a removed name) does not stay in the ledger forever, and
// dropping it gives nothing back.
func TestForgetDropsReservationsNobodyCameBackFor(t *testing.T) {
	l := New(limits.Production, Ledger{})
	l.Request(Order{Name: "removed.example.com", Permit: "p"}, t0)
	l.Request(Order{Name: "current.example.org", Permit: "q"}, t0.Add(2*time.Hour))
	tat := l.Ledger().TAT["certificates_per_exact_set|removed.example.com"]
	l.Forget(t0.Add(2*time.Hour + time.Minute))
	if _, ok := l.Ledger().Reservations["removed.example.com"]; ok {
		t.Error("a reservation two hours past its time is still kept")
	}
	if _, ok := l.Ledger().Reservations["current.example.org"]; !ok {
		t.Error("a current reservation was dropped")
	}
	if got := l.Ledger().TAT["certificates_per_exact_set|removed.example.com"]; !got.Equal(tat) {
		t.Errorf("dropping the reservation refunded its tokens: %s -> %s", tat, got)
	}
}

// A certificate recovered from DFP is booked in the buckets that count issuances, at its issuance
// time; the order buckets are not touched (no order was placed now).
func TestBookIssued(t *testing.T) {
	l := New(limits.Production, Ledger{})
	l.BookIssued("a.example.com", t0)
	exact, _ := limits.Production.Named(messages.LimitCertificatesPerExactSet)
	perDomain, _ := limits.Production.Named(messages.LimitCertificatesPerDomain)
	tat := l.Ledger().TAT
	if !tat["certificates_per_exact_set|a.example.com"].Equal(t0.Add(exact.Interval())) ||
		!tat["certificates_per_registered_domain|example.com"].Equal(t0.Add(perDomain.Interval())) {
		t.Fatalf("TAT = %v, want one token in the exact-set and registered-domain buckets from %s", tat, t0)
	}
	if _, ok := tat["new_orders_per_account|account"]; ok {
		t.Error("a recovered certificate spent an order token")
	}
}
