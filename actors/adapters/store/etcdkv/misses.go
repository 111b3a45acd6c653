package etcdkv

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// A responder request for a token the watched copy lacks reads etcd, since the copy may lag the
// leader's publication by a moment. Anyone on the Internet can ask for any token, so those reads
// are bounded: one read at a time per token (the CA asks from several places at once), at most
// missReadsInFlight at once, and at most missBudget a second on average (missBurst at once);
// past that, a miss answers 404 from the copy alone.
const (
	missReadsInFlight = 4
	missBudget        = 20.0 // reads a second
	missBurst         = 40
	missReadTimeout   = 2 * time.Second
)

// Budget is a token bucket: Allow spends one token if there is one. Plain and clock-driven.
type Budget struct {
	Rate   float64 // tokens a second
	Burst  float64
	tokens float64
	last   time.Time
}

// Allow reports whether a token is left at now, and spends it.
func (b *Budget) Allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.Burst
	} else if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(b.Burst, b.tokens+elapsed*b.Rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// misses bounds the reads of etcd that misses make.
type misses struct {
	group  singleflight.Group
	slots  chan struct{}
	budget Budget // guarded by Answers.mu
}

func newMisses() *misses {
	return &misses{slots: make(chan struct{}, missReadsInFlight), budget: Budget{Rate: missBudget, Burst: missBurst}}
}

// read runs fetch for token unless the bounds say no; ok false means "not found" without a read.
func (m *misses) read(ctx context.Context, token string, allowed bool, fetch func(context.Context) (string, bool)) (string, bool) {
	if !allowed {
		return "", false
	}
	v, _, _ := m.group.Do(token, func() (any, error) {
		select {
		case m.slots <- struct{}{}:
		default:
			return result{}, nil // every slot busy: the copy alone answers
		}
		defer func() { <-m.slots }()
		ctx, cancel := context.WithTimeout(ctx, missReadTimeout)
		defer cancel()
		keyAuth, ok := fetch(ctx)
		return result{keyAuth, ok}, nil
	})
	r := v.(result)
	return r.keyAuth, r.ok
}

type result struct {
	keyAuth string
	ok      bool
}
