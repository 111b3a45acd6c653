package ratelimiter

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// named picks a limit by name, never by its place in the table.
func named(t *testing.T, table limits.Table, name messages.Limit) limits.Limit {
	t.Helper()
	l, ok := table.Named(name)
	if !ok {
		t.Fatalf("no limit %s in the table", name)
	}
	return l
}

func TestExactSetBucketRefillsOnePer34Hours(t *testing.T) {
	l := New(limits.Production, Ledger{})
	for i := 0; i < 5; i++ {
		d := l.Request(Order{Name: "a.example.com", Renewal: true}, t0)
		if !d.Granted {
			t.Fatalf("order %d refused: %+v", i+1, d)
		}
		l.Report("a.example.com", "", Issued, t0)
	}
	d := l.Request(Order{Name: "a.example.com", Renewal: true}, t0)
	interval := 7 * 24 * time.Hour / 5
	if d.Granted || !d.At.Equal(t0.Add(interval+ClockSkew)) || d.Limit != messages.LimitCertificatesPerExactSet {
		t.Fatalf("sixth order = %+v, want deferred to +%s by certificates_per_exact_set", d, interval)
	}
	if again := l.Request(Order{Name: "a.example.com", Renewal: true}, t0.Add(time.Hour)); again.Granted || !again.At.Equal(d.At) {
		t.Fatalf("asking again early moved the booking: %+v", again)
	}
	if at := l.Request(Order{Name: "a.example.com", Renewal: true}, d.At); !at.Granted {
		t.Fatalf("not granted at the booked time: %+v", at)
	}
}

func TestRegisteredDomainQueuesNewNamesAtRefillTimes(t *testing.T) {
	l := New(limits.Production, Ledger{})
	interval := 7 * 24 * time.Hour / 50
	for i := 0; i < 53; i++ {
		name := "n" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".shop.example.co.uk"
		d := l.Request(Order{Name: name}, t0)
		switch {
		case i < 50 && !d.Granted:
			t.Fatalf("name %d refused within the burst: %+v", i, d)
		case i >= 50 && (d.Granted || !d.At.Equal(t0.Add(time.Duration(i-49)*interval+ClockSkew)) || d.Limit != messages.LimitCertificatesPerDomain):
			t.Fatalf("name %d = %+v, want deferred to +%d intervals", i, d, i-49)
		}
	}
	// Another registered domain is untouched.
	if d := l.Request(Order{Name: "www.other.example"}, t0); !d.Granted {
		t.Fatalf("other registered domain refused: %+v", d)
	}
}

func TestExemptions(t *testing.T) {
	cases := []struct {
		name    string
		order   Order
		granted int // how many of 60 same-domain orders at t0 are granted
	}{
		{"new names share the registered domain's 50", Order{}, 50},
		{"non-ARI renewals skip the registered domain but not the exact set", Order{Renewal: true}, 60},
		{"ARI renewals are exempt from everything", Order{ARI: true}, 60},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := New(limits.Production, Ledger{})
			granted := 0
			for i := 0; i < 60; i++ {
				o := c.order
				o.Name = "x" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com"
				if l.Request(o, t0).Granted {
					granted++
				}
			}
			if granted != c.granted {
				t.Fatalf("granted %d, want %d", granted, c.granted)
			}
		})
	}
}

func TestFailuresRefundIssuanceAndCountAuthorizations(t *testing.T) {
	l := New(limits.Production, Ledger{})
	name := "dead.example.com"
	for i := 0; i < 5; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		if d := l.Request(Order{Name: name}, now); !d.Granted {
			t.Fatalf("attempt %d refused: %+v", i+1, d)
		}
		l.Report(name, "", FailedValidation, now)
	}
	d := l.Request(Order{Name: name}, t0.Add(5*time.Minute))
	if d.Granted || d.Limit != messages.LimitFailedAuthorizations {
		t.Fatalf("sixth attempt within the hour = %+v, want deferred by failed authorizations", d)
	}
	// Five failed orders issued nothing: the exact-set bucket got its tokens back.
	exactSet := named(t, limits.Production, messages.LimitCertificatesPerExactSet)
	if got := l.conformsAt(exactSet, limits.BucketKey(exactSet, name), t0.Add(5*time.Minute)); got.After(t0.Add(5 * time.Minute)) {
		t.Fatalf("exact-set bucket still charged for failed orders until %s", got)
	}
}

func TestConsecutiveFailuresResetOnSuccess(t *testing.T) {
	l := New(limits.Production, Ledger{})
	l.Request(Order{Name: "a.example.com"}, t0)
	l.Report("a.example.com", "", FailedValidation, t0)
	if _, ok := l.ledger.TAT[limits.BucketKey(named(t, limits.Production, messages.LimitConsecutiveFailedAuthzs), "a.example.com")]; !ok {
		t.Fatal("failure not counted")
	}
	l.Request(Order{Name: "a.example.com"}, t0.Add(time.Hour))
	l.Report("a.example.com", "", Issued, t0.Add(time.Hour))
	if _, ok := l.ledger.TAT[limits.BucketKey(named(t, limits.Production, messages.LimitConsecutiveFailedAuthzs), "a.example.com")]; ok {
		t.Fatal("consecutive failures not reset by an issued certificate")
	}
}

func TestCAHoldWins(t *testing.T) {
	until := t0.Add(90 * time.Minute)
	cases := []struct {
		name  string
		limit messages.Limit
		other string // a name that must not be affected, "" if every name is
	}{
		{"known limit holds that bucket", messages.LimitCertificatesPerExactSet, "b.example.com"},
		{"unknown limit holds everything", messages.LimitUnknown, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := New(limits.Production, Ledger{})
			l.Hold("a.example.com", c.limit, until)
			if d := l.Request(Order{Name: "a.example.com"}, t0); d.Granted || !d.At.Equal(until.Add(ClockSkew)) {
				t.Fatalf("held name = %+v, want deferred to %s and the clock-skew allowance", d, until)
			}
			if c.other != "" {
				if d := l.Request(Order{Name: c.other}, t0); !d.Granted {
					t.Fatalf("%s held by another name's limit: %+v", c.other, d)
				}
			} else if d := l.Request(Order{Name: "b.example.org"}, t0); d.Granted {
				t.Fatal("an unattributed CA hold let another order through")
			}
			if d := l.Request(Order{Name: "a.example.com"}, until.Add(ClockSkew)); !d.Granted {
				t.Fatalf("not granted when the hold ends: %+v", d)
			}
		})
	}
}

func TestHoldMovesEarlierBookings(t *testing.T) {
	l := New(limits.Production, Ledger{})
	for i := 0; i < 5; i++ {
		l.Request(Order{Name: "a.example.com", Renewal: true}, t0)
		l.Report("a.example.com", "", Issued, t0)
	}
	booked := l.Request(Order{Name: "a.example.com", Renewal: true}, t0)
	until := booked.At.Add(10 * time.Hour)
	l.Hold("a.example.com", messages.LimitCertificatesPerExactSet, until)
	if d := l.Request(Order{Name: "a.example.com", Renewal: true}, booked.At); d.Granted || !d.At.Equal(until.Add(ClockSkew)) {
		t.Fatalf("booking before the CA's time = %+v, want moved to %s", d, until)
	}
}

func TestLedgerRoundTripKeepsLimits(t *testing.T) {
	l := New(limits.Production, Ledger{})
	for i := 0; i < 5; i++ {
		l.Request(Order{Name: "a.example.com", Renewal: true}, t0)
		l.Report("a.example.com", "", Issued, t0)
	}
	l.Hold("z.example.com", messages.LimitUnknown, t0.Add(time.Hour))
	data, err := json.Marshal(l.Ledger())
	if err != nil {
		t.Fatal(err)
	}
	var back Ledger
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	restarted := New(limits.Production, back)
	if d := restarted.Request(Order{Name: "a.example.com", Renewal: true}, t0.Add(2*time.Hour)); d.Granted {
		t.Fatal("a restart lifted the exact-set limit")
	}
	if d := restarted.Request(Order{Name: "b.example.org"}, t0.Add(30*time.Minute)); d.Granted || !d.At.Equal(t0.Add(time.Hour+ClockSkew)) {
		t.Fatalf("after a restart, an order during the CA's hold = %+v; want deferred to the hold's end", d)
	}
}

func TestGrantNeverReportedExpires(t *testing.T) {
	l := New(limits.Production, Ledger{})
	l.Request(Order{Name: "a.example.com", Renewal: true}, t0)
	// The holder crashed and never reported; much later the name asks again.
	for i := 0; i < 4; i++ {
		l.Request(Order{Name: "a.example.com", Renewal: true}, t0.Add(time.Duration(i+1)*2*time.Hour))
	}
	if d := l.Request(Order{Name: "a.example.com", Renewal: true}, t0.Add(10*time.Hour+time.Minute)); d.Granted {
		t.Fatal("unreported grants were reused instead of counted: a sixth order in a week was granted")
	}
}

func TestMarginAndTables(t *testing.T) {
	m := limits.Production.WithMargin(0.1)
	exactSet, orders := named(t, m, messages.LimitCertificatesPerExactSet), named(t, m, messages.LimitNewOrders)
	if exactSet.Capacity != 4 || orders.Capacity != 270 {
		t.Fatalf("margin capacities = %d, %d; want 4, 270", exactSet.Capacity, orders.Capacity)
	}
	if exactSet.Interval() <= named(t, limits.Production, messages.LimitCertificatesPerExactSet).Interval() {
		t.Fatal("margin did not slow the refill")
	}
	if _, err := limits.TableNamed("bogus"); err == nil {
		t.Fatal("unknown table accepted")
	}
	none, _ := limits.TableNamed("none")
	l := New(none, Ledger{})
	for i := 0; i < 1000; i++ {
		if !l.Request(Order{Name: "a.example.com"}, t0).Granted {
			t.Fatal("the none table limited an order")
		}
		l.Report("a.example.com", "", Issued, t0)
	}
}

func TestBookedAccountTokenIsNotTakenTwice(t *testing.T) {
	table := limits.Table{
		{Name: "orders", Capacity: 2, Window: 2 * time.Hour, Scope: limits.ScopeAccount, Counts: limits.CountsOrder},
	}
	l := New(table, Ledger{})
	l.Request(Order{Name: "a.example.com"}, t0)
	l.Request(Order{Name: "b.example.com"}, t0)
	d := l.Request(Order{Name: "c.example.com"}, t0)
	if d.Granted || !d.At.Equal(t0.Add(time.Hour+ClockSkew)) {
		t.Fatalf("third order = %+v, want booked at +1h and the clock-skew allowance", d)
	}
	if g := l.Request(Order{Name: "c.example.com"}, d.At); !g.Granted {
		t.Fatalf("booked order not granted at its time: %+v", g)
	}
	if n := l.Request(Order{Name: "d.example.com"}, d.At); n.Granted || !n.At.Equal(t0.Add(2*time.Hour+ClockSkew)) {
		t.Fatalf("next order = %+v; the booked token was taken twice or not at all", n)
	}
}

// A wildcard is its own exact set but shares its base's registered-domain bucket.
func TestWildcardsCountUnderTheirRegisteredDomain(t *testing.T) {
	for name, want := range map[string]string{
		"*.example.com":        "example.com",
		"*.sub.example.com":    "example.com",
		"*.shop.example.co.uk": "example.co.uk",
		"*.example.co.uk":      "example.co.uk",
		"www.example.com":      "example.com",
	} {
		if got := limits.RegisteredDomain(name); got != want {
			t.Errorf("limits.RegisteredDomain(%q) = %q, want %q", name, got, want)
		}
	}
	l := New(limits.Production, Ledger{})
	for i := 0; i < 49; i++ {
		if d := l.Request(Order{Name: fmt.Sprintf("n%d.example.com", i)}, t0); !d.Granted {
			t.Fatalf("name %d refused within the burst: %+v", i, d)
		}
	}
	if d := l.Request(Order{Name: "*.example.com"}, t0); !d.Granted {
		t.Fatalf("the wildcard, 50th of example.com, refused: %+v", d)
	}
	if d := l.Request(Order{Name: "example.com"}, t0); d.Granted || d.Limit != messages.LimitCertificatesPerDomain {
		t.Fatalf("the 51st certificate of example.com after the wildcard = %+v, want deferred by the per-domain limit", d)
	}
}

func TestMergeLedgersKeepsEveryBooking(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	kept := Ledger{
		TAT:          map[string]time.Time{"a": t0.Add(time.Hour), "b": t0},
		Holds:        map[string]time.Time{"h": t0},
		Reservations: map[string]Reservation{"x.test": {At: t0, Granted: true}},
	}
	added := Ledger{
		TAT:          map[string]time.Time{"a": t0, "b": t0.Add(2 * time.Hour), "c": t0.Add(time.Minute)},
		Holds:        map[string]time.Time{"h": t0.Add(time.Hour)},
		HoldAll:      t0.Add(time.Minute),
		Reservations: map[string]Reservation{"x.test": {At: t0.Add(time.Hour)}, "y.test": {At: t0}},
	}
	got := MergeLedgers(kept, added)
	want := Ledger{
		TAT:          map[string]time.Time{"a": t0.Add(time.Hour), "b": t0.Add(2 * time.Hour), "c": t0.Add(time.Minute)},
		Holds:        map[string]time.Time{"h": t0.Add(time.Hour)},
		HoldAll:      t0.Add(time.Minute),
		Reservations: map[string]Reservation{"x.test": {At: t0, Granted: true}, "y.test": {At: t0}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeLedgers =\n%+v\nwant\n%+v", got, want)
	}
	if empty := MergeLedgers(Ledger{}, Ledger{}); len(empty.TAT) != 0 || !empty.HoldAll.IsZero() {
		t.Errorf("two empty ledgers merge to %+v", empty)
	}
}
