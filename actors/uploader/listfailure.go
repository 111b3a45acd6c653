package uploader

import (
	"errors"
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// ListFailure is what to do when DFP's list of certificates could not be had.
type ListFailure int

const (
	// CompareSoon: stored certificates wait to be compared and DFP is unreachable; ask again after
	// a backoff rather than at the interval.
	CompareSoon ListFailure = iota
	// UploadUncompared: DFP answers, but not with a list that can be read; upload the stored
	// certificates without comparing.
	UploadUncompared
	// NextInterval: nothing waits on the comparison; the next reconciliation asks again.
	NextInterval
)

// AfterListFailure decides what a failed list means. unverified: stored certificates wait to be
// compared; failures: lists failed in a row, this one included. It returns the decision and when
// the list is asked again.
func AfterListFailure(err error, unverified bool, failures int, minBackoff, maxBackoff, interval time.Duration) (ListFailure, time.Duration) {
	switch {
	case unverified && errors.Is(err, proxyapi.ErrUnreachable):
		return CompareSoon, min(minBackoff<<min(max(failures, 1)-1, 16), maxBackoff)
	case unverified:
		return UploadUncompared, interval
	}
	return NextInterval, interval
}
