package issuer

import (
	"context"
	"fmt"
	"time"

	"github.com/go-acme/lego/v4/certificate"
	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Window is a CA's suggested renewal window for one certificate (RFC 9773).
type Window struct {
	Start, End     time.Time
	RetryAfter     time.Duration // when to ask again; 0 if the CA did not say
	ExplanationURL string
}

// RenewalWindow asks the CA when b should be renewed. ErrNoARI: the CA offers no renewal info.
func (i *Issuer) RenewalWindow(b *bundle.Bundle) (Window, error) {
	client, err := i.renewalInfoClient()
	if err != nil {
		return Window{}, err
	}
	_ = i.ariSlots.Acquire(context.Background(), 1) // cannot fail without a deadline
	info, err := client.Certificate.GetRenewalInfo(certificate.RenewalInfoRequest{Cert: b.Leaf})
	i.ariSlots.Release(1)
	if err != nil {
		return Window{}, fmt.Errorf("renewal info: %w", err)
	}
	w := Window{Start: info.SuggestedWindow.Start, End: info.SuggestedWindow.End, RetryAfter: info.RetryAfter,
		ExplanationURL: info.ExplanationURL}
	if !w.Start.Before(w.End) {
		return Window{}, fmt.Errorf("renewal info: the CA's window ends (%s) before it starts (%s)", w.End, w.Start)
	}
	return w, nil
}

// renewalInfoClient is the one lego client all renewal-info requests share; lego's GETs are safe
// for concurrent use once the client is built.
func (i *Issuer) renewalInfoClient() (*lego.Client, error) {
	return i.ariClient.get(func() (*lego.Client, error) {
		u, err := i.ensureAccount()
		if err != nil {
			return nil, err
		}
		return i.newLegoClient(u)
	})
}
