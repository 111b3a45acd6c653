package issuer

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/acme"
	"github.com/go-acme/lego/v4/acme/api"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Kind is what sort of failure ended an order. The certificate actor maps it to what the rate
// limiter is told and to the next attempt.
type Kind int

const (
	// Other is anything not below: the network, a CA error, an unusable certificate.
	Other Kind = iota
	// ValidationFailed: the CA could not validate the name (an authorization failed).
	ValidationFailed
	// RateLimited: the CA refused on one of its limits; RetryAt is its time.
	RateLimited
	// Paused: the CA paused the name until an operator unpauses it at UnpauseURL.
	Paused
	// ReplacesRefused: the CA refused the order's "replaces"; no order was created.
	ReplacesRefused
	// InFlight: an order for the name is already running (a previous actor instance's); none was placed.
	InFlight
	// NotKept: the CA issued the certificate but the store could not keep it; Obtain returns it
	// all the same, to upload and to save again.
	NotKept
	// IssuedUnusable: the CA issued a certificate this service will not use (its own checks
	// refused it). It counts as issued: the CA counted it.
	IssuedUnusable
)

var kindNames = [...]string{"other", "validation_failed", "rate_limited", "paused", "replaces_refused", "in_flight", "not_kept", "issued_unusable"}

// ErrNotKept and ErrIssuedUnusable mark an order the CA fulfilled that ended badly here.
var (
	ErrNotKept        = errors.New("issued, but not stored")
	ErrIssuedUnusable = errors.New("issued, but unusable")
)

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Failure is what an order's error means for the limits and the retry schedule.
type Failure struct {
	Kind       Kind
	RetryAt    time.Time      // the CA's time, for rate limits
	Limit      messages.Limit // the limit the CA named; LimitUnknown if it did not say
	UnpauseURL string         // set when the CA paused the name
}

var (
	retryAfterDetail = regexp.MustCompile(`retry after (\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?: UTC|Z)?)`)
	unpauseURL       = regexp.MustCompile(`https://\S*unpause\S*`)
)

// validationProblems are the ACME error types of a failed validation (RFC 8555 section 6.7, CAA).
var validationProblems = map[string]bool{
	"urn:ietf:params:acme:error:unauthorized":      true,
	"urn:ietf:params:acme:error:connection":        true,
	"urn:ietf:params:acme:error:dns":               true,
	"urn:ietf:params:acme:error:incorrectResponse": true,
	"urn:ietf:params:acme:error:tls":               true,
	"urn:ietf:params:acme:error:caa":               true,
}

// limitPhrases maps words of Let's Encrypt's rateLimited details to the limit they name.
var limitPhrases = []struct {
	phrase string
	limit  messages.Limit
}{
	{"exact set", messages.LimitCertificatesPerExactSet},
	{"consecutive", messages.LimitConsecutiveFailedAuthzs},
	{"failed authorization", messages.LimitFailedAuthorizations},
	{"new orders", messages.LimitNewOrders},
	{"registered domain", messages.LimitCertificatesPerDomain},
	{"already issued for", messages.LimitCertificatesPerDomain},
}

// Classify reads an order's error. now anchors a Retry-After given in seconds.
func Classify(err error, now time.Time) Failure {
	switch {
	case errors.Is(err, ErrInFlight):
		return Failure{Kind: InFlight}
	case errors.Is(err, ErrReplacesRefused):
		return Failure{Kind: ReplacesRefused}
	case errors.Is(err, ErrNotKept):
		return Failure{Kind: NotKept}
	case errors.Is(err, ErrIssuedUnusable):
		return Failure{Kind: IssuedUnusable}
	}
	var rl *acme.RateLimitedError
	if errors.As(err, &rl) {
		f := Failure{Kind: RateLimited, RetryAt: retryAt(rl, now)}
		detail := strings.ToLower(rl.Detail)
		if u := unpauseURL.FindString(rl.Detail); u != "" {
			f.Kind, f.UnpauseURL = Paused, u
			return f
		}
		for _, p := range limitPhrases {
			if strings.Contains(detail, p.phrase) {
				f.Limit = p.limit
				break
			}
		}
		return f
	}
	var pd *acme.ProblemDetails
	if errors.As(err, &pd) && validationProblems[pd.Type] {
		return Failure{Kind: ValidationFailed}
	}
	return Failure{Kind: Other}
}

// retryAt is the CA's time: the Retry-After header, else the "retry after" in the detail, else an
// hour (Let's Encrypt always sends one; this is for CAs that do not).
func retryAt(rl *acme.RateLimitedError, now time.Time) time.Time {
	if d, err := api.ParseRetryAfter(rl.RetryAfter); err == nil && d > 0 {
		return now.Add(d)
	}
	if m := retryAfterDetail.FindStringSubmatch(rl.Detail); m != nil {
		s := strings.Replace(strings.TrimSuffix(strings.TrimSuffix(m[1], " UTC"), "Z"), "T", " ", 1)
		if t, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
			return t.UTC()
		}
	}
	return now.Add(time.Hour)
}
