// Package messages holds the messages the actors exchange. They are plain values with no
// behaviour, so that no actor depends on another's internals.
package messages

import "time"

// DomainsDiscovered is discovery's report of every name that should have a certificate now
// (DFP's names plus DOMAINS, less EXCLUDE_DOMAINS). An empty list is not a removal.
type DomainsDiscovered struct {
	Names []string
}

// PermitRequest asks the rate limiter whether an order for Name may be placed now. The limiter
// answers the sender with PermitGranted or PermitDeferred.
type PermitRequest struct {
	Name string
}

// PermitGranted allows one order for Name. The holder must send OrderFinished when it is over.
type PermitGranted struct {
	Name string
}

// PermitDeferred says to ask again at Until; Reason names the limit that decided it.
type PermitDeferred struct {
	Name   string
	Until  time.Time
	Reason string
}

// Outcome is how an order ended.
type Outcome string

const (
	OutcomeIssued Outcome = "issued"
	OutcomeFailed Outcome = "failed"
)

// OrderFinished returns the permit for Name to the rate limiter.
type OrderFinished struct {
	Name    string
	Outcome Outcome
}

// DeployCertificate asks the uploader to put Bundle (leaf, chain, key; HAProxy's combined PEM)
// into DFP for Name. The uploader validates it again before it leaves the process.
type DeployCertificate struct {
	Name   string
	Bundle []byte
}
