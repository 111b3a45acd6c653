package issuer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/acme"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rateLimited := func(detail, retryAfter string) error {
		return fmt.Errorf("order for a.example.com: %w", &acme.RateLimitedError{
			ProblemDetails: &acme.ProblemDetails{Type: acme.RateLimitedErr, HTTPStatus: 429, Detail: detail},
			RetryAfter:     retryAfter,
		})
	}
	cases := []struct {
		name string
		err  error
		want Failure
	}{
		{"exact set with header", rateLimited("too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-05-02 10:00:00 UTC", "3600"),
			Failure{Kind: RateLimited, RetryAt: now.Add(time.Hour), Limit: messages.LimitCertificatesPerExactSet}},
		{"registered domain, time from detail", rateLimited(`too many certificates (50) already issued for "example.com" in the last 168h0m0s, retry after 2026-05-02 10:00:00 UTC`, ""),
			Failure{Kind: RateLimited, RetryAt: time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC), Limit: messages.LimitCertificatesPerDomain}},
		{"new orders", rateLimited("too many new orders (300) from this account in the last 3h0m0s, retry after 2026-05-01 12:30:00 UTC", ""),
			Failure{Kind: RateLimited, RetryAt: time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC), Limit: messages.LimitNewOrders}},
		{"unknown limit, no time", rateLimited("slow down", ""),
			Failure{Kind: RateLimited, RetryAt: now.Add(time.Hour)}},
		{"paused", rateLimited("Your account is temporarily prevented from requesting certificates for a.example.com. Please visit: https://portal.letsencrypt.org/sfe/v1/unpause?jwt=abc.def", "86400"),
			Failure{Kind: Paused, RetryAt: now.Add(24 * time.Hour), UnpauseURL: "https://portal.letsencrypt.org/sfe/v1/unpause?jwt=abc.def"}},
		{"validation", fmt.Errorf("error: one or more domains had a problem:\n%w", errors.Join(fmt.Errorf("a.example.com: invalid challenge: %w",
			&acme.ProblemDetails{Type: "urn:ietf:params:acme:error:connection", Detail: "connection refused"}))),
			Failure{Kind: ValidationFailed}},
		{"server error", &acme.ProblemDetails{Type: "urn:ietf:params:acme:error:serverInternal", HTTPStatus: 500},
			Failure{Kind: Other}},
		{"network", errors.New("dial tcp: connection refused"), Failure{Kind: Other}},
		{"in flight", fmt.Errorf("x: %w", ErrInFlight), Failure{Kind: InFlight}},
		{"issued, not stored", fmt.Errorf("store certificate for a: %w: %w", ErrNotKept, errors.New("read-only file system")), Failure{Kind: NotKept}},
		{"issued, unusable here", fmt.Errorf("x: %w: %w", ErrIssuedUnusable, errors.New("bundle: does not cover a")), Failure{Kind: IssuedUnusable}},
		{"replaces refused", fmt.Errorf("order for a.example.com: %w: %w", ErrReplacesRefused, &acme.AlreadyReplacedError{}), Failure{Kind: ReplacesRefused}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Classify(c.err, now); got != c.want {
				t.Fatalf("Classify = %+v, want %+v", got, c.want)
			}
		})
	}
}

// Every limit the CA's words can name is one the rate limiter keeps, in both of Let's Encrypt's
// tables: a name it does not know would hold every order instead of one bucket.
func TestEveryClassifiedLimitIsInTheLimiterTables(t *testing.T) {
	for _, p := range limitPhrases {
		for tableName, table := range map[string]limits.Table{"production": limits.Production, "staging": limits.Staging} {
			if _, ok := table.Named(p.limit); !ok {
				t.Errorf("%q maps to %s, which the %s table does not have", p.phrase, p.limit, tableName)
			}
		}
	}
}
