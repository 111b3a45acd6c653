package uploader

import (
	"bytes"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Validate checks a bundle before it is queued: nothing invalid ever leaves the process. A bundle
// the sender parsed from these very bytes is shared, and checked for the name and the time only.
func Validate(name string, pem []byte, parsed *bundle.Bundle, now time.Time) (*bundle.Bundle, error) {
	b := parsed
	if b == nil || !bytes.Equal(b.PEM, pem) {
		var err error
		if b, err = bundle.Parse(pem); err != nil {
			return nil, err
		}
	}
	if err := b.Check(name, now); err != nil {
		return nil, err
	}
	return b, nil
}
