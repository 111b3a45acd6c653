package ratesim

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/plan"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

// The plan is the limiter's own arithmetic: what it foresees for new names is what the simulation
// of the service then does with the same limits, to the second for every name's first certificate,
// and the same number of renewals and deferrals. (The simulation's dead names and restarts are
// left out: the plan assumes every order issues.)
func TestPlanAgreesWithTheSimulation(t *testing.T) {
	cases := []struct {
		what     string
		names    []Name
		lifetime time.Duration
		days     int
	}{
		{"120 new names under one domain", Fleet(120, 1, 0), 90 * 24 * time.Hour, 30},
		{"300 under one domain", Fleet(300, 1, 0), 90 * 24 * time.Hour, 60},
		{"1,000 over five domains, 45-day certificates", Fleet(1000, 5, 0), 45 * 24 * time.Hour, 90},
		{"1,000 over five domains, 160-hour certificates", Fleet(1000, 5, 0), 160 * time.Hour, 30},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			horizon := time.Duration(c.days) * 24 * time.Hour
			// The simulation runs up to its end inclusive, the plan's days end just before theirs.
			rep, err := Run(Config{Names: c.names, Duration: horizon - time.Nanosecond, Limits: limits.Production, Margin: 0.1, Lifetime: c.lifetime, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			start := Start
			in := plan.Input{Now: start, Days: c.days, Table: limits.Production.WithMargin(0.1), Lifetime: plan.Fixed(c.lifetime)}
			for _, n := range c.names {
				in.Names = append(in.Names, plan.Name{Name: n.Name})
			}
			p, err := plan.Build(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Pending) != len(c.names) || len(rep.FirstIssued) != len(c.names) {
				t.Fatalf("%d planned, %d simulated, of %d names", len(p.Pending), len(rep.FirstIssued), len(c.names))
			}
			for _, n := range p.Pending {
				if sim := start.Add(rep.FirstIssued[n.Name]); !n.At.Equal(sim) {
					t.Errorf("%s: planned at %s, simulated at %s", n.Name, n.At, sim)
				}
			}
			deferrals := 0
			for _, d := range rep.Deferrals {
				deferrals += d
			}
			if p.Totals.Renewals != rep.Renewals || p.Totals.New != len(rep.FirstIssued) || p.Totals.Deferred != deferrals {
				t.Errorf("planned %d renewals, %d new, %d deferred; simulated %d, %d, %d", p.Totals.Renewals, p.Totals.New, p.Totals.Deferred,
					rep.Renewals, len(rep.FirstIssued), deferrals)
			}
			for i, d := range p.Days {
				if d.Renewals != rep.RenewalsOnDay[i] {
					t.Errorf("day %d: planned %d renewals, simulated %d", i, d.Renewals, rep.RenewalsOnDay[i])
				}
			}
			last := p.Pending[len(p.Pending)-1].At
			t.Logf("planned and simulated alike: last first certificate after %s, %d renewals, %d deferrals", last.Sub(start).Round(time.Minute), rep.Renewals, deferrals)
		})
	}
}
