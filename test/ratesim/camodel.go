package ratesim

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

// caLimit is one of the CA's buckets: capacity tokens, refilled evenly over period.
type caLimit struct {
	capacity float64
	period   time.Duration
}

func (l caLimit) refill() time.Duration { return time.Duration(float64(l.period) / l.capacity) }

// letsEncrypt is Let's Encrypt's production limits as published (letsencrypt.org/docs/rate-limits,
// read 2026-08-05). They are written here again on purpose, not taken from the provisioner's table:
// a wrong number there must show up as violations here.
var letsEncrypt = struct {
	orders, perDomain, exactSet, failedAuthz, consecutive caLimit
}{
	orders:      caLimit{capacity: 300, period: 3 * time.Hour},
	perDomain:   caLimit{capacity: 50, period: 7 * 24 * time.Hour},
	exactSet:    caLimit{capacity: 5, period: 7 * 24 * time.Hour},
	failedAuthz: caLimit{capacity: 5, period: time.Hour},
	consecutive: caLimit{capacity: 1152, period: 1152 * 24 * time.Hour},
}

// caModel enforces Let's Encrypt's limits the way the CA does, written independently of the
// provisioner's limiter: a float token count per bucket, refilled continuously.
type caModel struct {
	buckets map[string]*bucket
	issued  map[string]bool // names ever issued: the CA knows its renewals
}

type bucket struct {
	tokens  float64
	updated time.Time
}

func newCAModel() *caModel {
	return &caModel{buckets: map[string]*bucket{}, issued: map[string]bool{}}
}

func (m *caModel) tokens(l caLimit, key string, now time.Time) *bucket {
	b := m.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.capacity, updated: now}
		m.buckets[key] = b
	}
	b.tokens = min(b.tokens+float64(now.Sub(b.updated))/float64(l.refill()), l.capacity)
	b.updated = now
	return b
}

// order is one new order for name. It returns accepted=false (a rateLimited answer) when any limit
// that applies has no token; otherwise it validates (dead names fail) and issues.
func (m *caModel) order(name string, dead bool, now time.Time) (accepted, issued bool) {
	le := letsEncrypt
	renewal := m.issued[name] // same-set renewals skip the per-account and per-domain buckets
	orders := m.tokens(le.orders, "orders", now)
	perDomain := m.tokens(le.perDomain, "domain|"+limits.RegisteredDomain(name), now)
	exactSet := m.tokens(le.exactSet, "set|"+name, now)
	authz := m.tokens(le.failedAuthz, "authz|"+name, now)
	consecutive := m.tokens(le.consecutive, "consecutive|"+name, now)
	if !renewal && (orders.tokens < 1 || perDomain.tokens < 1) || exactSet.tokens < 1 || authz.tokens < 1 || consecutive.tokens < 1 {
		return false, false
	}
	if !renewal {
		orders.tokens--
	}
	if dead {
		authz.tokens--
		consecutive.tokens--
		return true, false
	}
	exactSet.tokens--
	if !renewal {
		perDomain.tokens--
	}
	consecutive.tokens = le.consecutive.capacity
	m.issued[name] = true
	return true, true
}
