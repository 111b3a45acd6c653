package uploader

import (
	"bytes"
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Validate checks a bundle before it is queued: nothing invalid ever leaves the process. A bundle
// the sender parsed from these very bytes is shared, and checked for the name and the time only.
func Validate(name string, pem []byte, parsed *proxyapi.Bundle, now time.Time) (*proxyapi.Bundle, error) {
	b := parsed
	if b == nil || !bytes.Equal(b.PEM, pem) {
		var err error
		if b, err = proxyapi.ParseBundle(pem); err != nil {
			return nil, err
		}
	}
	if err := b.Check(name, now); err != nil {
		return nil, err
	}
	return b, nil
}
