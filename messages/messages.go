// Package messages holds the messages the actors exchange. They are plain values with no
// behaviour, so that no actor depends on another's internals.
package messages

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// DomainsDiscovered is discovery's report of every name that should have a certificate now
// (DFP's names plus DOMAINS, less EXCLUDE_DOMAINS). An empty list is not a removal.
type DomainsDiscovered struct {
	Names []string
	// Authoritative: DFP answered with a non-empty service list, so a name missing from Names is
	// really gone from DFP (not DFP restarting or unreachable) and its removal clock may run.
	Authoritative bool
}

// RetryNow is an operator's "retry now" for one name: forget the backoff (and a CA pause the
// operator has lifted) and try again. The rate limits still apply.
type RetryNow struct{}

// CheckNow asks a certificate actor to look at its certificate again (the periodic sweep).
type CheckNow struct{}

// PermitRequest asks the rate limiter whether an order for Name may be placed now. The limiter
// answers the sender with PermitGranted or PermitDeferred.
type PermitRequest struct {
	Name string
	// Permit identifies this request; asking again with the same Permit (after a timeout) is the
	// same request. The grant and the order's end carry it, so that an order's end is never
	// taken for the end of another order for the same name (a restarted actor's, say).
	Permit string
	// Renewal: a certificate for exactly this name was issued before.
	Renewal bool
	// ARI: the order replaces a certificate inside the CA's suggested window (exempt from limits).
	ARI bool
}

// PermitGranted allows one order for Name. The holder must send OrderFinished when it is over.
type PermitGranted struct {
	Name   string
	Permit string
}

// PermitDeferred says to ask again at Until; Reason names the limit that decided it.
type PermitDeferred struct {
	Name   string
	Until  time.Time
	Reason Limit
}

// Outcome is how an order ended.
type Outcome string

const (
	OutcomeIssued           Outcome = "issued"
	OutcomeValidationFailed Outcome = "validation_failed"
	OutcomeRateLimited      Outcome = "rate_limited" // the CA said so; RetryAt is its time
	OutcomePaused           Outcome = "paused"       // the CA paused the name until an operator unpauses it
	OutcomeFailed           Outcome = "failed"       // anything else: network, CA error, bad response
	OutcomeNotOrdered       Outcome = "not_ordered"  // the permit was not used
)

// OrderFinished returns the permit for Name to the rate limiter with what became of the order.
type OrderFinished struct {
	Name    string
	Permit  string // the PermitGranted's
	Outcome Outcome
	RetryAt time.Time // for OutcomeRateLimited
	Limit   Limit     // for OutcomeRateLimited: the limit the CA named, LimitUnknown if it did not say
}

// DeployCertificate asks the uploader to put Bundle (leaf, chain, key; HAProxy's combined PEM)
// into DFP for Name. The uploader validates it again before it leaves the process.
type DeployCertificate struct {
	Name   string
	Bundle []byte
	// Parsed, when set, is Bundle as the sender's bundle.Parse gave it, shared and never changed:
	// the uploader checks it for the name and the time without parsing every certificate again
	// (a second parsed copy of each was a fifth of the memory at 10,000 names).
	Parsed *bundle.Bundle
	// Stored: loaded from the store (at a start), not just issued. DFP most likely holds it
	// already, so it is compared with DFP's list before anything is uploaded: each upload is an
	// HAProxy reload.
	Stored bool
}

// PollNow asks discovery to read DFP's service list at once: docker-flow-swarm-listener notified
// that a service was created (Service: its name; discovery polls again briefly until DFP lists
// it) or removed. A hint only: what DFP lists stays the truth.
type PollNow struct {
	Service string
}

// Trouble kinds: what an operator is alerted to (ALERT_WEBHOOK_URL).
const (
	TroubleExpiring  = "expiring"   // a twentieth of the lifetime left and no renewal yet
	TroublePaused    = "paused"     // the CA paused the name
	TroubleFailing   = "failing"    // ALERT_AFTER_FAILURES failures in a row
	TroubleNotServed = "not_served" // HAProxy does not serve the uploaded certificate
	TroubleSpaced    = "spaced"     // the CA's window would renew a certificate under a day old; held back
)

// Trouble says that a kind of trouble began (Active) or ended for Name. Actors send it to their
// parent whenever it may have changed; the alerter keeps what changed, once per change.
type Trouble struct {
	Name   string
	Kind   string
	Active bool
	Detail string
}

// Ping asks an actor to answer Pong at once: the health check's proof that its mailbox moves.
type Ping struct{}

// Pong answers Ping.
type Pong struct{}

// ReconcileNow asks the uploader to compare what DFP holds with what it should hold now, rather
// than at its next interval: discovery sends it when DFP is back after an outage or a restart.
type ReconcileNow struct {
	Reason string
}

// Limit names one of the CA's rate limits, or another reason an order must wait. The rate
// limiter's tables, the issuer's reading of the CA's errors and the log lines share these names;
// a name that is not here does not compile.
type Limit string

// Let's Encrypt's limits (letsencrypt.org/docs/rate-limits).
const (
	LimitNewOrders               Limit = "new_orders_per_account"
	LimitCertificatesPerDomain   Limit = "certificates_per_registered_domain"
	LimitCertificatesPerExactSet Limit = "certificates_per_exact_set"
	LimitFailedAuthorizations    Limit = "failed_authorizations_per_name"
	LimitConsecutiveFailedAuthzs Limit = "consecutive_failed_authorizations_per_name"
	LimitUnknown                 Limit = "" // the CA limited us without saying which limit
	LimitHeldByCA                Limit = "ca_rate_limited"
	LimitLedgerUnwritable        Limit = "ledger_unwritable"
	// LimitOrderInFlight: another permit for the name (a previous actor instance's) is still in
	// use; its order has not reported yet.
	LimitOrderInFlight Limit = "order_in_flight"
)
