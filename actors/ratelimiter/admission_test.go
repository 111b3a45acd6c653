package ratelimiter

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/inflight"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Every answer a request can get, from the limits and the slots together.
func TestAdmit(t *testing.T) {
	const name = "a.example.com"
	until := t0.Add(90 * time.Minute)
	cases := []struct {
		name    string
		slots   int
		before  func(l *Limiter, s *inflight.Slots) // the state the request meets
		want    Admission
		slot    bool // the ledger says the grant came with its slot
		holding int  // slots held after the request
	}{
		{name: "room in the limits and a free slot: granted with the slot",
			slots: 1, before: func(*Limiter, *inflight.Slots) {},
			want: Admission{Verdict: Grant}, slot: true, holding: 1},
		{name: "room in the limits, every slot in use: tokens taken, waits for a slot",
			slots: 1, before: func(_ *Limiter, s *inflight.Slots) { s.Request("other.example.com", t0) },
			want: Admission{Verdict: Wait}, holding: 1},
		{name: "the CA holds the name: deferred, and no slot taken from a name it would accept",
			slots: 1, before: func(l *Limiter, _ *inflight.Slots) { l.Hold(name, messages.LimitCertificatesPerExactSet, until) },
			want: Admission{Verdict: Defer, Until: until.Add(ClockSkew), Limit: messages.LimitCertificatesPerExactSet}},
		{name: "deferred even when every slot is in use: the limit answers first",
			slots: 1, before: func(l *Limiter, s *inflight.Slots) {
				s.Request("other.example.com", t0)
				l.Hold(name, messages.LimitCertificatesPerExactSet, until)
			},
			want: Admission{Verdict: Defer, Until: until.Add(ClockSkew), Limit: messages.LimitCertificatesPerExactSet}, holding: 1},
		{name: "asking again while holding the slot: granted again, one slot",
			slots: 1, before: func(l *Limiter, s *inflight.Slots) { Admit(l, s, Order{Name: name, Permit: "p"}, t0) },
			want: Admission{Verdict: Grant}, slot: true, holding: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, s := New(limits.Production, Ledger{}), inflight.New(c.slots, time.Hour)
			c.before(l, s)
			got := Admit(l, s, Order{Name: name, Permit: "p"}, t0)
			if got != c.want {
				t.Fatalf("Admit = %+v, want %+v", got, c.want)
			}
			r, booked := l.Ledger().Reservations[name]
			if granted := c.want.Verdict != Defer; booked && r.Granted != granted || !booked && granted {
				t.Errorf("reservation %+v (booked %v), want granted=%v", r, booked, granted)
			}
			if r.Slot != c.slot {
				t.Errorf("reservation's slot = %v, want %v", r.Slot, c.slot)
			}
			if s.InFlight() != c.holding {
				t.Errorf("%d slots held, want %d", s.InFlight(), c.holding)
			}
		})
	}
}

// A grant whose ledger could not be written is taken back whole: deferred as unwritable, its
// tokens refunded, its slot passed on to the next name, which is not told now.
func TestTakeBack(t *testing.T) {
	l, s := New(limits.Production, Ledger{}), inflight.New(1, time.Hour)
	if a := Admit(l, s, Order{Name: "a.example.com", Permit: "p"}, t0); a.Verdict != Grant {
		t.Fatalf("first request = %+v", a)
	}
	if a := Admit(l, s, Order{Name: "b.example.com", Permit: "q"}, t0); a.Verdict != Wait {
		t.Fatalf("second request = %+v, want it waiting for the slot", a)
	}
	exactSet := "certificates_per_exact_set|a.example.com"
	if _, taken := l.Ledger().TAT[exactSet]; !taken {
		t.Fatal("the grant took no exact-set token; the refund below proves nothing")
	}
	got, passed := TakeBack(l, s, "a.example.com", "p", t0)
	want := Admission{Verdict: Defer, Until: t0.Add(unwritableRetry), Limit: messages.LimitLedgerUnwritable}
	if got != want {
		t.Fatalf("TakeBack = %+v, want %+v", got, want)
	}
	if _, booked := l.Ledger().Reservations["a.example.com"]; booked {
		t.Error("the taken-back grant is still booked")
	}
	if tat, taken := l.Ledger().TAT[exactSet]; taken && tat.After(t0) {
		t.Errorf("the exact-set token was not refunded: TAT %s", tat)
	}
	if len(passed) != 1 || passed[0] != "b.example.com" {
		t.Errorf("the slot passed to %v, want [b.example.com]", passed)
	}
}
