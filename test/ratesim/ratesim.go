// Package ratesim simulates the provisioner's ordering decisions over simulated months against a
// model of Let's Encrypt that enforces its rate limits, with a fake clock. It drives the same
// plain code the service runs (the ratelimiter's Limiter, the retry schedule, the renewal time)
// and restarts the "process" every simulated day, keeping only what the service keeps on disk.
package ratesim

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	renewal "github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

// Name is one name to manage.
type Name struct {
	Name string
	Dead bool // never validates
}

// Config is one simulation.
type Config struct {
	Names        []Name
	Duration     time.Duration
	RestartEvery time.Duration // 0: never
	// Limits is the provisioner's table (before Margin); the CA keeps its own numbers.
	Limits   limits.Table
	Margin   float64
	Lifetime time.Duration
	Seed     uint64
	// withoutLimiter orders whenever a name is due, to show the CA model does refuse.
	withoutLimiter bool
}

// Report is what a simulation measured.
type Report struct {
	Orders, Issued, Renewals int
	// Violations counts orders the CA refused on a rate limit: the number that must be zero.
	Violations int
	Restarts   int
	// FirstIssued is when each live name got its first certificate (offset from the start).
	FirstIssued map[string]time.Duration
	// Ideal is the earliest each could have had it under the CA's own buckets.
	Ideal map[string]time.Duration
	// Deferrals counts the limiter's "not yet" answers per name: one log line each in the service.
	Deferrals map[string]int
	// DeadAttempts is when each dead name ordered.
	DeadAttempts map[string][]time.Time
	// Lapsed counts live names whose certificate expired before it was renewed.
	Lapsed int
	// RenewalsOnDay counts the renewals issued on each simulated day (0: the first).
	RenewalsOnDay map[int]int
}

type nameState struct {
	dead      bool
	notBefore time.Time // zero: no certificate yet
	notAfter  time.Time
	failures  int
	next      time.Time
}

// Start is when every simulation starts: a midnight, so that its days are calendar days.
var Start = time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)

// Run simulates cfg.
func Run(cfg Config) (Report, error) {
	start := Start
	rnd := rand.New(rand.NewPCG(cfg.Seed, 1))
	ca := newCAModel()
	table := cfg.Limits.WithMargin(cfg.Margin)
	if cfg.withoutLimiter {
		table = limits.Table{}
	}
	limiter := ratelimiter.New(table, ratelimiter.Ledger{})
	rep := Report{FirstIssued: map[string]time.Duration{}, Deferrals: map[string]int{}, DeadAttempts: map[string][]time.Time{},
		RenewalsOnDay: map[int]int{}}

	states := map[string]*nameState{}
	var q events
	gen := map[string]int{}
	schedule := func(name string, at time.Time) {
		gen[name]++
		heap.Push(&q, event{at: at, name: name, gen: gen[name]})
	}
	for _, n := range cfg.Names {
		states[n.Name] = &nameState{dead: n.Dead}
		schedule(n.Name, start)
	}
	end := start.Add(cfg.Duration)
	nextRestart := start.Add(cfg.RestartEvery)

	for q.Len() > 0 {
		ev := heap.Pop(&q).(event)
		if ev.at.After(end) {
			break
		}
		if cfg.RestartEvery > 0 && !ev.at.Before(nextRestart) {
			// A restart: timers and memory are gone; the ledger and per-name state come back from disk.
			at := nextRestart.Add(time.Duration(rnd.Int64N(int64(time.Hour))))
			var err error
			if limiter, err = reload(table, limiter); err != nil {
				return rep, err
			}
			q = q[:0]
			for name := range states {
				schedule(name, at)
			}
			nextRestart = nextRestart.Add(cfg.RestartEvery)
			rep.Restarts++
			continue
		}
		if ev.gen != gen[ev.name] {
			continue
		}
		now, name, st := ev.at, ev.name, states[ev.name]

		if !st.notAfter.IsZero() {
			if renewAt := renewal.RenewTime(st.notBefore, st.notAfter); now.Before(renewAt) {
				schedule(name, renewAt)
				continue
			}
		}
		if now.Before(st.next) {
			schedule(name, st.next)
			continue
		}
		d := limiter.Request(ratelimiter.Order{Name: name, Renewal: !st.notAfter.IsZero()}, now)
		if !d.Granted {
			rep.Deferrals[name]++
			schedule(name, d.At)
			continue
		}
		rep.Orders++
		if !st.notAfter.IsZero() && now.After(st.notAfter) {
			rep.Lapsed++
		}
		accepted, issued := ca.order(name, st.dead, now)
		switch {
		case !accepted:
			rep.Violations++
			limiter.Report(name, "", ratelimiter.FailedOther, now)
			limiter.Hold(name, "", now.Add(time.Hour))
			st.next = now.Add(time.Hour)
		case issued:
			if st.notAfter.IsZero() {
				rep.FirstIssued[name] = now.Sub(start)
			} else {
				rep.Renewals++
				rep.RenewalsOnDay[int(now.Sub(start)/(24*time.Hour))]++
			}
			rep.Issued++
			limiter.Report(name, "", ratelimiter.Issued, now)
			st.notBefore, st.notAfter, st.failures = now, now.Add(cfg.Lifetime), 0
			schedule(name, renewal.RenewTime(st.notBefore, st.notAfter))
			continue
		default:
			limiter.Report(name, "", ratelimiter.FailedValidation, now)
			st.failures++
			delay := renewal.RetryDelay(st.failures)
			st.next = now.Add(delay + time.Duration(rnd.Int64N(int64(delay)/10+1)))
			rep.DeadAttempts[name] = append(rep.DeadAttempts[name], now)
		}
		schedule(name, st.next)
	}
	rep.Ideal = ideal(cfg)
	return rep, nil
}

// reload is a restart: the ledger goes through its JSON form, as it does through the disk.
func reload(table limits.Table, l *ratelimiter.Limiter) (*ratelimiter.Limiter, error) {
	data, err := json.Marshal(l.Ledger())
	if err != nil {
		return nil, fmt.Errorf("ratesim: %w", err)
	}
	var back ratelimiter.Ledger
	if err := json.Unmarshal(data, &back); err != nil {
		return nil, fmt.Errorf("ratesim: %w", err)
	}
	return ratelimiter.New(table, back), nil
}

// ideal is the earliest first issuance under the CA's per-registered-domain bucket (the one that
// binds when many new names share a domain), for live names in the order given.
func ideal(cfg Config) map[string]time.Duration {
	perDomain := letsEncrypt.perDomain
	capacity := int(perDomain.capacity)
	out := map[string]time.Duration{}
	count := map[string]int{}
	for _, n := range cfg.Names {
		if n.Dead {
			continue
		}
		d := limits.RegisteredDomain(n.Name)
		k := count[d]
		count[d]++
		if k >= capacity {
			out[n.Name] = time.Duration(k-capacity+1) * perDomain.refill()
		} else {
			out[n.Name] = 0
		}
	}
	return out
}

// Delays summarises FirstIssued against Ideal: mean and worst lateness, and the last issuance of each.
func (r Report) Delays() (mean, worst, lastActual, lastIdeal time.Duration) {
	var sum time.Duration
	for name, actual := range r.FirstIssued {
		late := actual - r.Ideal[name]
		sum += late
		worst = max(worst, late)
		lastActual = max(lastActual, actual)
		lastIdeal = max(lastIdeal, r.Ideal[name])
	}
	if len(r.FirstIssued) > 0 {
		mean = sum / time.Duration(len(r.FirstIssued))
	}
	return mean, worst, lastActual, lastIdeal
}

// MaxDeadAttempts is the most orders a dead name made in any 24 hours: over its whole life (the
// ramp of Let's Encrypt's 1, 10 and 100 minute retries), and once its backoff reached a day (from
// its fourth attempt on).
func (r Report) MaxDeadAttempts() (ramp, daily int) {
	for _, at := range r.DeadAttempts {
		for i := range at {
			n := 0
			for j := i; j < len(at) && at[j].Sub(at[i]) < 24*time.Hour; j++ {
				n++
			}
			ramp = max(ramp, n)
			if i >= len(retryRamp) {
				daily = max(daily, n)
			}
		}
	}
	return ramp, daily
}

// retryRamp is the attempts before the backoff reaches a day: the first and its 1, 10, 100 minute retries.
var retryRamp = [4]struct{}{}

type event struct {
	at   time.Time
	name string
	gen  int
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].at.Equal(e[j].at) {
		return e[i].name < e[j].name
	}
	return e[i].at.Before(e[j].at)
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// Fleet is n names spread evenly over the given number of registered domains, every deadEvery-th
// one dead (0: none).
func Fleet(n, domains, deadEvery int) []Name {
	names := make([]Name, n)
	for i := range names {
		names[i] = Name{
			Name: fmt.Sprintf("svc%04d.customer%d.com", i, i%domains),
			Dead: deadEvery > 0 && (i/domains)%deadEvery == deadEvery-1, // spread over every domain
		}
	}
	return names
}
