package ratesim

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

func limitNamed(t *testing.T, table limits.Table, name messages.Limit) limits.Limit {
	t.Helper()
	l, ok := table.Named(name)
	if !ok {
		t.Fatalf("no limit %s in the table", name)
	}
	return l
}

// The scenario: 1000 names over 5 registered domains, a year, a restart every day, 10% of
// the names dead. Nothing may make the CA refuse an order.
func TestYearOfThousandNamesWithDailyRestarts(t *testing.T) {
	rep, err := Run(Config{
		Names:        Fleet(1000, 5, 10),
		Duration:     365 * 24 * time.Hour,
		RestartEvery: 24 * time.Hour,
		Limits:       limits.Production,
		Margin:       0.1,
		Lifetime:     90 * 24 * time.Hour,
		Seed:         1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations != 0 {
		t.Errorf("the CA refused %d orders on its limits", rep.Violations)
	}
	if len(rep.FirstIssued) != 900 {
		t.Errorf("%d of 900 live names issued", len(rep.FirstIssued))
	}
	if rep.Lapsed != 0 {
		t.Errorf("%d renewals came after expiry", rep.Lapsed)
	}
	if rep.Renewals < 900*4 {
		t.Errorf("only %d renewals in a year for 900 names with 90-day certificates", rep.Renewals)
	}
	ramp, daily := rep.MaxDeadAttempts()
	if ramp > 4 || daily > 1 {
		t.Errorf("a dead name was tried up to %d times in 24 h, and %d once failing daily; want at most 4 (first try, then 1, 10, 100 min) and 1", ramp, daily)
	}
	mean, worst, last, lastIdeal := rep.Delays()
	t.Logf("orders %d, issued %d (renewals %d), violations %d, restarts %d", rep.Orders, rep.Issued, rep.Renewals, rep.Violations, rep.Restarts)
	t.Logf("first issuance later than ideal: mean %s, worst %s; last name at %s (ideal %s)", mean, worst, last, lastIdeal)
	t.Logf("dead names: at most %d orders in 24 h during the 1/10/100-minute ramp, %d per 24 h after it", ramp, daily)
	// With a 10% margin the per-domain bucket refills 1/0.9 as slowly and holds 45, not 50; and each
	// of a domain's 20 dead names takes one place in its queue before it is known to be dead.
	perDomain := limitNamed(t, limits.Production.WithMargin(0.1), messages.LimitCertificatesPerDomain)
	if limit := time.Duration(float64(lastIdeal)/0.9) + 20*perDomain.Interval() + 24*time.Hour; last > limit {
		t.Errorf("last name issued at %s, later than the margin and the dead names explain (%s)", last, limit)
	}
}

// 300 new names under one registered domain: the first batch at once, the rest one by one exactly
// as the bucket refills, each told once when its turn is, none refused by the CA.
func TestThreeHundredNamesQueueOnTheirDomain(t *testing.T) {
	names := Fleet(300, 1, 0)
	rep, err := Run(Config{Names: names, Duration: 60 * 24 * time.Hour, Limits: limits.Production, Margin: 0.1, Lifetime: 90 * 24 * time.Hour, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations != 0 || len(rep.FirstIssued) != 300 {
		t.Fatalf("violations %d, issued %d of 300", rep.Violations, len(rep.FirstIssued))
	}
	perDomain := limitNamed(t, limits.Production.WithMargin(0.1), messages.LimitCertificatesPerDomain)
	immediate := 0
	for _, n := range names {
		at := rep.FirstIssued[n.Name]
		if at == 0 {
			immediate++
			if rep.Deferrals[n.Name] != 0 {
				t.Errorf("%s issued at once but was deferred", n.Name)
			}
			continue
		}
		if rep.Deferrals[n.Name] != 1 {
			t.Errorf("%s was deferred %d times, want exactly once", n.Name, rep.Deferrals[n.Name])
		}
		if (at-ratelimiter.ClockSkew)%perDomain.Interval() != 0 {
			t.Errorf("%s issued at %s, not on a refill of the bucket (every %s, plus the clock-skew allowance)", n.Name, at, perDomain.Interval())
		}
	}
	if immediate != perDomain.Capacity {
		t.Errorf("%d names issued at once, want the bucket's %d", immediate, perDomain.Capacity)
	}
}

func TestWithoutTheLimiterTheCAWouldRefuse(t *testing.T) {
	// Proves the simulation can fail: with no limits on our side, the CA model refuses orders.
	rep, err := Run(Config{Names: Fleet(300, 1, 0), Duration: 2 * 24 * time.Hour, Limits: limits.Production,
		Margin: 0, Lifetime: 90 * 24 * time.Hour, Seed: 3, RestartEvery: 0})
	if err != nil {
		t.Fatal(err)
	}
	unlimited, err := Run(Config{Names: Fleet(300, 1, 0), Duration: 2 * 24 * time.Hour, Limits: limits.Production,
		Margin: 0, Lifetime: 90 * 24 * time.Hour, Seed: 3, withoutLimiter: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations != 0 || unlimited.Violations == 0 {
		t.Fatalf("violations with the limiter %d (want 0), without %d (want some)", rep.Violations, unlimited.Violations)
	}
}

// Without a margin every name is issued as early as Let's Encrypt's own buckets allow, give or take
// the clock-skew allowance and the downtime of the daily restarts (up to an hour each here), and
// still not one order is refused.
func TestAtZeroMarginIssuanceIsAsEarlyAsTheBucketsAllow(t *testing.T) {
	rep, err := Run(Config{Names: Fleet(300, 1, 0), Duration: 40 * 24 * time.Hour, RestartEvery: 24 * time.Hour,
		Limits: limits.Production, Margin: 0, Lifetime: 90 * 24 * time.Hour, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	mean, worst, last, lastIdeal := rep.Delays()
	if rep.Violations != 0 || len(rep.FirstIssued) != 300 {
		t.Fatalf("violations %d, issued %d of 300", rep.Violations, len(rep.FirstIssued))
	}
	if worst > time.Hour+ratelimiter.ClockSkew {
		t.Errorf("a name came %s later than the buckets allow (mean %s; last %s, ideal %s)", worst, mean, last, lastIdeal)
	}
}

// The CA model keeps its own numbers: a limiter table that overstates one of Let's Encrypt's
// limits is caught as violations, not agreed with.
func TestAWrongNumberInTheLimiterTableIsCaught(t *testing.T) {
	for _, c := range []struct {
		limit    messages.Limit
		capacity int
	}{
		{messages.LimitCertificatesPerDomain, 60},
		{messages.LimitCertificatesPerExactSet, 7},
	} {
		t.Run(string(c.limit), func(t *testing.T) {
			wrong := append(limits.Table{}, limits.Production...)
			for i := range wrong {
				if wrong[i].Name == c.limit {
					wrong[i].Window = wrong[i].Window / time.Duration(wrong[i].Capacity) * time.Duration(c.capacity)
					wrong[i].Capacity = c.capacity
				}
			}
			names := Fleet(300, 1, 0)
			if c.limit == messages.LimitCertificatesPerExactSet {
				names = Fleet(3, 3, 0) // few names, renewed weekly: the exact-set bucket binds
			}
			lifetime := 90 * 24 * time.Hour
			if c.limit == messages.LimitCertificatesPerExactSet {
				lifetime = 24 * time.Hour
			}
			rep, err := Run(Config{Names: names, Duration: 14 * 24 * time.Hour, Limits: wrong, Margin: 0, Lifetime: lifetime, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Violations == 0 {
				t.Fatalf("a table with %s at %d passed the CA model without a violation", c.limit, c.capacity)
			}
		})
	}
}
