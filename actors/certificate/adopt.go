package certificate

import (
	"errors"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Adoptable says why a certificate DFP holds for name may not be taken into the store, or nil: it
// must validate exactly as an upload would, be outside its renewal time (or it would be renewed at
// once anyway), and come from the configured CA (fromCA, which the caller asks the CA).
func Adoptable(name string, b *bundle.Bundle, now time.Time, fromCA bool) error {
	if err := b.Check(name, now); err != nil {
		return err
	}
	if !now.Before(schedule.RenewAt(b)) {
		return errors.New("inside its renewal time")
	}
	if !fromCA {
		return errors.New("not issued by the configured CA")
	}
	return nil
}
