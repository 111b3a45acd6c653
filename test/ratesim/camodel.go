package ratesim

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
)

// caModel enforces Let's Encrypt's limits the way the CA does, written independently of the
// provisioner's limiter: a float token count per bucket, refilled continuously.
type caModel struct {
	limits  map[string]ratelimiter.Limit
	buckets map[string]*bucket
	issued  map[string]bool // names ever issued: the CA knows its renewals
}

type bucket struct {
	tokens  float64
	updated time.Time
}

func newCAModel(table ratelimiter.Table) *caModel {
	m := &caModel{limits: map[string]ratelimiter.Limit{}, buckets: map[string]*bucket{}, issued: map[string]bool{}}
	for _, l := range table {
		m.limits[l.Name] = l
	}
	return m
}

func (m *caModel) tokens(limit, key string, now time.Time) *bucket {
	l := m.limits[limit]
	k := limit + "|" + key
	b := m.buckets[k]
	if b == nil {
		b = &bucket{tokens: float64(l.Capacity), updated: now}
		m.buckets[k] = b
	}
	b.tokens += float64(now.Sub(b.updated)) / float64(l.Interval())
	if b.tokens > float64(l.Capacity) {
		b.tokens = float64(l.Capacity)
	}
	b.updated = now
	return b
}

// order is one new order for name. It returns accepted=false (a rateLimited answer) when any limit
// that applies has no token; otherwise it validates (dead names fail) and issues.
func (m *caModel) order(name string, dead bool, now time.Time) (accepted, issued bool) {
	domain := ratelimiter.RegisteredDomain(name)
	renewal := m.issued[name] // same-set renewals skip the per-account and per-domain buckets
	orders := m.tokens("new_orders_per_account", "account", now)
	perDomain := m.tokens("certificates_per_registered_domain", domain, now)
	exactSet := m.tokens("certificates_per_exact_set", name, now)
	authz := m.tokens("failed_authorizations_per_name", name, now)
	consecutive := m.tokens("consecutive_failed_authorizations_per_name", name, now)
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
	consecutive.tokens = float64(m.limits["consecutive_failed_authorizations_per_name"].Capacity)
	m.issued[name] = true
	return true, true
}
