// Package limits holds the CA's published rate limits (Let's Encrypt's production and staging tables, each
// limit's scope and what it counts) and the ledger's bucket keys, built and parsed here only. The
// limiter (its parent package) applies them; configuration, status and the simulation read them.
package limits

import (
	"fmt"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Scope is what a limit's buckets are keyed by.
type Scope string

const (
	ScopeAccount          Scope = "account"
	ScopeRegisteredDomain Scope = "registered_domain" // by the Public Suffix List
	ScopeExactSet         Scope = "exact_set"         // one name per certificate here, so the name
	ScopeName             Scope = "name"
)

// Counts is what takes a token from a limit's bucket.
type Counts string

const (
	// CountsOrder: every new order, whatever becomes of it.
	CountsOrder Counts = "order"
	// CountsIssuance: every certificate issued. The token is taken when the order is permitted, so
	// that concurrent orders cannot overshoot, and given back when no certificate came of it.
	CountsIssuance Counts = "issuance"
	// CountsFailedValidation: every authorization that failed validation.
	CountsFailedValidation Counts = "failed_validation"
)

// Limit is one of the CA's token buckets: Capacity tokens, refilled evenly over Window (one token
// every Window/Capacity).
type Limit struct {
	Name     messages.Limit
	Capacity int
	Window   time.Duration
	Scope    Scope
	Counts   Counts
	// ExemptRenewal: non-ARI renewals of the exact same set of names take no token.
	ExemptRenewal bool
	// ResetOnSuccess: an issued certificate empties the name's count (consecutive failures).
	ResetOnSuccess bool
	Source         string
}

// Interval is the time for one token to come back.
func (l Limit) Interval() time.Duration { return l.Window / time.Duration(l.Capacity) }

// Table is a CA's set of limits. ARI renewals (RFC 9773 replaces, inside the window) are exempt
// from every limit.
type Table []Limit

const rateLimitsDoc = "letsencrypt.org/docs/rate-limits (2026-08-05)"

// Production is Let's Encrypt's production limits. Numbers change: each is one line here.
var Production = Table{
	{Name: messages.LimitNewOrders, Capacity: 300, Window: 3 * time.Hour, Scope: ScopeAccount, Counts: CountsOrder, ExemptRenewal: true, Source: rateLimitsDoc},
	{Name: messages.LimitCertificatesPerDomain, Capacity: 50, Window: 7 * 24 * time.Hour, Scope: ScopeRegisteredDomain, Counts: CountsIssuance, ExemptRenewal: true, Source: rateLimitsDoc},
	{Name: messages.LimitCertificatesPerExactSet, Capacity: 5, Window: 7 * 24 * time.Hour, Scope: ScopeExactSet, Counts: CountsIssuance, Source: rateLimitsDoc},
	{Name: messages.LimitFailedAuthorizations, Capacity: 5, Window: time.Hour, Scope: ScopeName, Counts: CountsFailedValidation, Source: rateLimitsDoc},
	{Name: messages.LimitConsecutiveFailedAuthzs, Capacity: 1152, Window: 1152 * 24 * time.Hour, Scope: ScopeName, Counts: CountsFailedValidation, ResetOnSuccess: true, Source: rateLimitsDoc},
}

// Staging is Let's Encrypt's staging limits: the same buckets, far larger.
var Staging = Table{
	{Name: messages.LimitNewOrders, Capacity: 1500, Window: 3 * time.Hour, Scope: ScopeAccount, Counts: CountsOrder, ExemptRenewal: true, Source: rateLimitsDoc + ", staging"},
	{Name: messages.LimitCertificatesPerDomain, Capacity: 30000, Window: 7 * 24 * time.Hour, Scope: ScopeRegisteredDomain, Counts: CountsIssuance, ExemptRenewal: true, Source: rateLimitsDoc + ", staging"},
	{Name: messages.LimitCertificatesPerExactSet, Capacity: 30000, Window: 7 * 24 * time.Hour, Scope: ScopeExactSet, Counts: CountsIssuance, Source: rateLimitsDoc + ", staging"},
	{Name: messages.LimitFailedAuthorizations, Capacity: 200, Window: time.Hour, Scope: ScopeName, Counts: CountsFailedValidation, Source: rateLimitsDoc + ", staging"},
	{Name: messages.LimitConsecutiveFailedAuthzs, Capacity: 1152, Window: 1152 * 24 * time.Hour, Scope: ScopeName, Counts: CountsFailedValidation, ResetOnSuccess: true, Source: rateLimitsDoc + ", staging"},
}

// Named returns the table's limit called name.
func (t Table) Named(name messages.Limit) (Limit, bool) {
	for _, l := range t {
		if l.Name == name {
			return l, true
		}
	}
	return Limit{}, false
}

// TableNamed returns "production", "staging" or "none" (no limits: a private CA without them).
func TableNamed(name string) (Table, error) {
	switch name {
	case "production":
		return Production, nil
	case "staging":
		return Staging, nil
	case "none":
		return Table{}, nil
	}
	return nil, fmt.Errorf("%q is not one of production, staging, none", name)
}

// WithMargin keeps a fraction of every bucket in reserve: capacity and refill rate both shrink by
// margin (0.1 keeps 10% below the CA's numbers), never below one token.
func (t Table) WithMargin(margin float64) Table {
	out := make(Table, len(t))
	for i, l := range t {
		capacity := int(float64(l.Capacity) * (1 - margin))
		if capacity < 1 {
			capacity = 1
		}
		// Keep the interval at least the CA's, scaled by the margin, so the long-run rate is lower too.
		interval := time.Duration(float64(l.Interval()) / (1 - margin))
		l.Window = interval * time.Duration(capacity)
		l.Capacity = capacity
		out[i] = l
	}
	return out
}
