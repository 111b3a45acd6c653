package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/go-acme/lego/v4/registration"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// ensureAccount loads the stored account or registers one, once: Let's Encrypt limits new
// registrations per IP, and one account per installation is what it asks for.
func (i *Issuer) ensureAccount() (*user, error) { return i.account.get(i.loadOrRegister) }

// loadOrRegister reads the stored account, or registers a new one and stores it.
func (i *Issuer) loadOrRegister() (*user, error) {
	stored, err := i.cfg.Store.LoadAccount()
	switch {
	case err == nil:
		u, err := userFromStore(stored)
		if err != nil {
			return nil, err
		}
		i.cfg.Logger.Info("ACME account loaded", "event", event.AccountLoaded, "account", u.reg.URI)
		return u, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("acme account: %w (not registering a new one over it)", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("acme account: generate key: %w", err)
	}
	u := &user{email: i.cfg.Email, key: key}
	c, err := i.newLegoClient(u)
	if err != nil {
		return nil, err
	}
	var reg *registration.Resource
	if i.cfg.EAB.KeyID != "" {
		reg, err = c.Registration.RegisterWithExternalAccountBinding(registration.RegisterEABOptions{
			TermsOfServiceAgreed: true, Kid: i.cfg.EAB.KeyID, HmacEncoded: i.cfg.EAB.HMAC})
	} else {
		reg, err = c.Registration.Register(registration.RegisterOptions{TermsOfServiceAgreed: true})
	}
	if err != nil {
		return nil, fmt.Errorf("acme account: register: %w", err)
	}
	u.reg = reg
	if err := i.cfg.Store.SaveAccount(accountForStore(u)); err != nil {
		return nil, fmt.Errorf("acme account: registered %s but could not store it: %w", reg.URI, err)
	}
	i.cfg.Logger.Info("ACME account registered", "event", event.AccountRegistered, "account", reg.URI,
		"external_account_binding", i.cfg.EAB.KeyID != "")
	return u, nil
}

// user is lego's registration.User.
type user struct {
	email string
	key   crypto.PrivateKey
	reg   *registration.Resource
}

func (u *user) GetEmail() string                        { return u.email }
func (u *user) GetRegistration() *registration.Resource { return u.reg }
func (u *user) GetPrivateKey() crypto.PrivateKey        { return u.key }

func accountForStore(u *user) store.Account {
	der, _ := x509.MarshalECPrivateKey(u.key.(*ecdsa.PrivateKey))
	body, _ := json.Marshal(u.reg.Body)
	return store.Account{
		Email: u.email,
		URI:   u.reg.URI,
		Body:  body,
		Key:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}),
	}
}

func userFromStore(a store.Account) (*user, error) {
	block, _ := pem.Decode(a.Key)
	if block == nil {
		return nil, errors.New("acme account: account.key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("acme account: account.key: %w", err)
	}
	reg := &registration.Resource{URI: a.URI}
	if len(a.Body) > 0 {
		if err := json.Unmarshal(a.Body, &reg.Body); err != nil {
			return nil, fmt.Errorf("acme account: account.json body: %w", err)
		}
	}
	return &user{email: a.Email, key: key, reg: reg}, nil
}
