package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/go-acme/lego/v4/acme"
)

// EAB is an External Account Binding: the key ID and base64url HMAC key a CA hands out to bind
// new ACME accounts to an account with it (ZeroSSL, Google Trust Services, most corporate CAs).
type EAB struct {
	KeyID string
	HMAC  string
}

// ErrEABRequired means the CA's directory says new accounts need a binding, and none is configured.
var ErrEABRequired = errors.New("the CA requires External Account Binding (its directory's meta.externalAccountRequired)")

// Refusal is the CA's answer that no retry will change: the configuration must. Vars names what
// to fix.
type Refusal struct {
	Vars string
	Err  error
}

func (r *Refusal) Error() string { return fmt.Sprintf("%s: %v", r.Vars, r.Err) }
func (r *Refusal) Unwrap() error { return r.Err }

// Variables named by refusals.
const (
	eabVars   = "ACME_EAB_KID, ACME_EAB_HMAC"
	emailVars = "CERTBOT_EMAIL"
)

// Prepare is the start's check, before anything is ordered: the directory's EAB requirement, then
// the account, loaded or registered. A *Refusal is the CA's answer that the configuration is
// wrong (a missing or rejected binding, a contact it refuses); any other error (the CA cannot be
// reached, or answers 5xx) is not such an answer, and the first order asks again.
func (i *Issuer) Prepare() error {
	if _, err := i.cfg.Store.LoadAccount(); err == nil {
		_, err := i.ensureAccount() // a stored account is the CA's earlier yes
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // lego builds no client without a key
	if err != nil {
		return fmt.Errorf("acme: directory check: %w", err)
	}
	probe, err := i.newLegoClient(&user{email: i.cfg.Email, key: key})
	if err != nil {
		return err
	}
	if probe.GetExternalAccountRequired() && i.cfg.EAB.KeyID == "" {
		return &Refusal{Vars: eabVars, Err: ErrEABRequired}
	}
	_, err = i.ensureAccount()
	if vars := refusedAccountVars(err, i.cfg.EAB.KeyID != ""); vars != "" {
		return &Refusal{Vars: vars, Err: fmt.Errorf("the CA refused the new account: %w", err)}
	}
	return err
}

// refusedAccountVars reads the CA's answer to a new-account request: the variables to fix when the
// answer is a refusal no retry changes, "" otherwise.
func refusedAccountVars(err error, withEAB bool) string {
	var pd *acme.ProblemDetails
	if !errors.As(err, &pd) {
		return ""
	}
	switch pd.Type {
	case acme.BadNonceErr, "urn:ietf:params:acme:error:rateLimited", "urn:ietf:params:acme:error:serverInternal":
		return ""
	case "urn:ietf:params:acme:error:externalAccountRequired":
		return eabVars
	case "urn:ietf:params:acme:error:invalidContact", "urn:ietf:params:acme:error:unsupportedContact":
		return emailVars
	case "urn:ietf:params:acme:error:unauthorized", "urn:ietf:params:acme:error:malformed":
		if withEAB { // the binding is what the CA checks besides the signature lego makes
			return eabVars
		}
	}
	return ""
}
