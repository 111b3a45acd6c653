package uploader

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Distribution is whether uploads ask DFP to copy the certificate to every replica. DFP outside
// Swarm (or with a transient DNS failure) refuses distribute=true; uploads then go to the one
// replica, and distribution is tried again later, so that one bad lookup does not leave every
// later renewal on a single replica for the life of the process.
type Distribution struct {
	// OffUntil is when distribute=true is tried again; zero while distribution works.
	OffUntil time.Time
}

// Use reports whether the next upload asks for distribution.
func (d Distribution) Use(now time.Time) bool { return !now.Before(d.OffUntil) }

// DistributionChange says what an upload's outcome did to distribution, for the log.
type DistributionChange int

const (
	DistributionSame DistributionChange = iota
	// DistributionOff: DFP cannot distribute; this upload is sent again to the one replica.
	DistributionOff
	// DistributionBack: a distributed upload worked after distribution had been off.
	DistributionBack
)

// AfterUpload returns the distribution after an upload that asked for distribution (distributed)
// or not, and ended with err.
func AfterUpload(d Distribution, distributed bool, err error, now time.Time, retry time.Duration) (Distribution, DistributionChange) {
	switch {
	case !distributed:
		return d, DistributionSame
	case err != nil && proxyapi.IsDistributeLookupFailure(err):
		return Distribution{OffUntil: now.Add(retry)}, DistributionOff
	case err == nil && !d.OffUntil.IsZero():
		return Distribution{}, DistributionBack
	}
	return d, DistributionSame
}
