package issuer

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-acme/lego/v4/acme"
	"github.com/go-acme/lego/v4/certificate"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Obtain orders a certificate for name, checks what the CA sent and stores it. It returns the stored
// bundle. Storing here, not in the actor, lets the write finish even if the actor is stopped meanwhile.
// With replaces, the order says which certificate it replaces (RFC 9773); a fresh key is made for
// every order either way.
func (i *Issuer) Obtain(name string, replaces *x509.Certificate) (*bundle.Bundle, error) {
	if !i.begin(name) {
		return nil, ErrInFlight
	}
	defer i.end(name)

	var guard *replacesGuard
	var transport http.RoundTripper // nil: the configured one
	if replaces != nil {
		guard = &replacesGuard{next: i.transport()}
		transport = guard
	}
	client, err := i.clientFor(name, transport)
	if err != nil {
		return nil, err
	}
	if err := i.checkProfile(); err != nil {
		return nil, err
	}
	req := certificate.ObtainRequest{Domains: []string{name}, Bundle: true, Profile: i.cfg.Profile, PreferredChain: i.cfg.PreferredChain}
	if replaces != nil {
		if req.ReplacesCertID, err = certificate.MakeARICertID(replaces); err != nil {
			return nil, fmt.Errorf("order for %s: ARI certificate id: %w", name, err)
		}
	}
	res, err := client.Certificate.Obtain(req)
	if err != nil {
		if replaces != nil && (guard.tripped.Load() || refusedReplaces(err)) {
			return nil, fmt.Errorf("order for %s: %w: %w", name, ErrReplacesRefused, err)
		}
		return nil, fmt.Errorf("order for %s: %w", name, err)
	}
	// Sized exactly: the bundle is held for the certificate's life, by every name.
	pemBytes := make([]byte, 0, len(res.Certificate)+len(res.PrivateKey))
	pemBytes = append(append(pemBytes, res.Certificate...), res.PrivateKey...)
	// From here on the CA has issued: whatever happens counts as a certificate issued.
	b, err := bundle.Parse(pemBytes)
	if err == nil {
		err = b.Check(name, time.Now())
	}
	if err != nil {
		return nil, fmt.Errorf("the CA's certificate for %s is unusable, not stored: %w: %w", name, ErrIssuedUnusable, err)
	}
	if err := i.cfg.Store.SaveBundle(name, pemBytes); err != nil {
		return b, fmt.Errorf("store certificate for %s: %w: %w", name, ErrNotKept, err)
	}
	return b, nil
}

// refusedReplaces tells the CA's refusal of an order's "replaces" from any other failure: 409
// alreadyReplaced, or 403 unauthorized on the new-order request itself (a failed validation is
// also "unauthorized", but reported in a challenge, not as the answer to a request).
func refusedReplaces(err error) bool {
	var already *acme.AlreadyReplacedError
	if errors.As(err, &already) {
		return true
	}
	var pd *acme.ProblemDetails
	return errors.As(err, &pd) && pd.Method != "" && pd.Type == "urn:ietf:params:acme:error:unauthorized"
}
