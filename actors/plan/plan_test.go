package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

var (
	now   = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	table = limits.Production.WithMargin(0.1)
)

// A store with a name in every state, its ledger written by the limiter itself: 45 names issued
// under example.com today (the domain's bucket spent), one booked behind them, one whose order is
// granted and running, one failing under another domain, one paused, one due in ten days. Each
// gets the time the limiter gives it.
func TestPlanOfEveryState(t *testing.T) {
	limiter := ratelimiter.New(table, ratelimiter.Ledger{})
	var names []Name
	for i := range 45 {
		name := fmt.Sprintf("a%02d.example.com", i)
		if d := limiter.Request(ratelimiter.Order{Name: name}, now.Add(-time.Hour)); !d.Granted {
			t.Fatalf("%s not granted: %+v", name, d)
		}
		limiter.Report(name, "", ratelimiter.Issued, now.Add(-time.Hour))
		nb := now.Add(-time.Hour)
		names = append(names, Name{Name: name, NotBefore: nb, NotAfter: nb.Add(90 * days), DueAt: schedule.RenewTime(nb, nb.Add(90*days))})
	}
	waiting := limiter.Request(ratelimiter.Order{Name: "waiting.example.com"}, now)
	if waiting.Granted || waiting.Limit != messages.LimitCertificatesPerDomain {
		t.Fatalf("waiting.example.com: %+v, want deferred by the domain's limit", waiting)
	}
	if d := limiter.Request(ratelimiter.Order{Name: "renewing.example.org", Renewal: true}, now.Add(-time.Minute)); !d.Granted {
		t.Fatalf("renewing.example.org not granted: %+v", d)
	}
	dueNB := now.Add(-50 * days)
	names = append(names,
		Name{Name: "waiting.example.com"},
		Name{Name: "renewing.example.org", NotBefore: now.Add(-61 * days), NotAfter: now.Add(29 * days), DueAt: now.Add(-time.Minute)},
		Name{Name: "failing.example.org", Failures: 2, NextAttempt: now.Add(100 * time.Minute)},
		Name{Name: "paused.example.net", Failures: 5, Paused: true},
		Name{Name: "due.example.net", NotBefore: dueNB, NotAfter: dueNB.Add(90 * days), DueAt: schedule.RenewTime(dueNB, dueNB.Add(90*days))},
	)
	ledger := limiter.Ledger()
	before := len(ledger.Reservations)

	p, err := Build(Input{Now: now, Days: 30, Table: table, Ledger: ledger, Lifetime: Fixed(90 * days), Names: names})
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger.Reservations) != before || ledger.Reservations["waiting.example.com"].At != waiting.At {
		t.Error("the plan changed the ledger it was given")
	}
	pending := map[string]Pending{}
	for _, n := range p.Pending {
		pending[n.Name] = n
	}
	want := map[string]Pending{
		"waiting.example.com": {Name: "waiting.example.com", State: StateNew, At: waiting.At,
			WaitsFor: messages.LimitCertificatesPerDomain, Until: waiting.At},
		"failing.example.org": {Name: "failing.example.org", State: StateFailing, At: now.Add(100 * time.Minute)},
		"paused.example.net":  {Name: "paused.example.net", State: StatePaused},
	}
	if len(pending) != len(want) {
		t.Errorf("pending %v, want %d names", p.Pending, len(want))
	}
	for name, w := range want {
		if got := pending[name]; got != w {
			t.Errorf("%s: %+v, want %+v", name, got, w)
		}
	}
	dueDay := int(schedule.RenewTime(dueNB, dueNB.Add(90*days)).Sub(p.dayZero(t)) / days)
	if p.Days[0].Renewals != 1 || p.Days[dueDay].Renewals != 1 {
		t.Errorf("renewals: %d today (want renewing.example.org), %d on day %d (want due.example.net)", p.Days[0].Renewals, p.Days[dueDay].Renewals, dueDay)
	}
	if p.Totals.New != 2 || p.Totals.Renewals != 2 || p.Totals.Reloads != 4 {
		t.Errorf("totals %+v, want 2 new, 2 renewals, 4 reloads", p.Totals)
	}
	if len(p.Binding) != 1 || p.Binding[0].Limit != messages.LimitCertificatesPerDomain || p.Binding[0].Name != "waiting.example.com" {
		t.Errorf("binding %+v, want the domain's limit, first for waiting.example.com", p.Binding)
	}
	perDomain, _ := table.Named(messages.LimitCertificatesPerDomain)
	wantLeft, _ := ratelimiter.TokensLeft(perDomain, ledger.TAT["certificates_per_registered_domain|example.com"], p.dayZero(t).Add(days))
	if left, ok := p.Days[0].Left[messages.LimitCertificatesPerDomain]; !ok || left != wantLeft || left >= perDomain.Capacity {
		t.Errorf("day 0 ends with %d tokens (known %v) under example.com, want %d", left, ok, wantLeft)
	}
	// New orders and the domains' buckets: waiting.example.com (booked earlier) and the failing
	// name; exact sets: those two and the renewal, which the others exempt.
	if tk := p.Days[0].Tokens; tk[messages.LimitNewOrders] != 2 || tk[messages.LimitCertificatesPerDomain] != 2 || tk[messages.LimitCertificatesPerExactSet] != 3 {
		t.Errorf("day 0 took %v; want 2 new orders, 2 under their domains, 3 exact sets", tk)
	}
}

func (p Plan) dayZero(t *testing.T) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, p.Days[0].Date)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The lifetime changes: 90-day certificates renew every 60 days and 45-day ones every 30, so the
// same 1,000 names cost about twice the orders and reloads.
func TestShorterLifetimesDoubleTheOrders(t *testing.T) {
	count := func(life time.Duration) int {
		var names []Name
		for i := range 1000 {
			nb := now.Add(-time.Duration(i) * (life * 2 / 3) / 1000) // due times spread over one renewal period
			names = append(names, Name{Name: fmt.Sprintf("svc%04d.customer%d.com", i, i%5), NotBefore: nb, NotAfter: nb.Add(life),
				DueAt: schedule.RenewTime(nb, nb.Add(life))})
		}
		p, err := Build(Input{Now: now, Days: 180, Table: table, Lifetime: Fixed(life), Names: names})
		if err != nil {
			t.Fatal(err)
		}
		if p.Totals.Reloads != p.Totals.Renewals || p.Totals.Deferred != 0 {
			t.Errorf("%s: %+v; renewals only, none deferred", life, p.Totals)
		}
		return p.Totals.Reloads
	}
	ninety, fortyFive, sixtyFour := count(90*days), count(45*days), count(64*days)
	t.Logf("reloads over 180 days for 1,000 names: %d at 90 days, %d at 64, %d at 45", ninety, sixtyFour, fortyFive)
	if r := float64(fortyFive) / float64(ninety); r < 1.8 || r > 2.2 {
		t.Errorf("45-day certificates cost %.2f times the reloads of 90-day ones, want about 2", r)
	}
	if !(ninety < sixtyFour && sixtyFour < fortyFive) {
		t.Errorf("64-day certificates cost %d reloads, not between %d and %d", sixtyFour, ninety, fortyFive)
	}
}

// Let's Encrypt's dated facts: classic is 90 days until 2027-02-10, then 64, then 45 from
// 2028-02-16; tlsserver is 45 days, shortlived 160 hours.
func TestLetsEncryptLifetimes(t *testing.T) {
	cases := []struct {
		profile string
		at      time.Time
		want    time.Duration
	}{
		{"", day(2026, 12, 3), 90 * days},
		{"classic", day(2027, 2, 9).Add(23 * time.Hour), 90 * days},
		{"classic", day(2027, 2, 10), 64 * days},
		{"classic", day(2028, 2, 15), 64 * days},
		{"classic", day(2028, 2, 16), 45 * days},
		{"tlsserver", day(2026, 12, 3), 45 * days},
		{"shortlived", day(2026, 12, 3), 160 * time.Hour},
	}
	for _, c := range cases {
		life, err := LetsEncryptLifetime(c.profile)
		if err != nil {
			t.Fatal(err)
		}
		if got := life(c.at); got != c.want {
			t.Errorf("%q at %s: %s, want %s", c.profile, c.at, got, c.want)
		}
	}
	if _, err := LetsEncryptLifetime("tlsclient"); err == nil {
		t.Error("tlsclient (removed in 2026) accepted")
	}
	if got := Changes("classic", day(2026, 12, 3), day(2027, 3, 3)); len(got) != 1 || got[0].Days != 64 {
		t.Errorf("changes in the next 90 days: %+v, want the move to 64 days", got)
	}
}
