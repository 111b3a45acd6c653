// Package issuer is the lego glue: one ACME account per CA, registered once and stored, and
// Obtain, which orders a certificate for one name through HTTP-01 and stores the bundle.
package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/go-acme/lego/v4/acme"
	"github.com/go-acme/lego/v4/acme/api"
	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/certificate"
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/lego"
	"github.com/go-acme/lego/v4/registration"
	"golang.org/x/sync/semaphore"

	"github.com/dfp-letsencrypt/provisioner/actors/store"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// ErrInFlight means an order for the name is already running (for example one started by an
// actor instance that has since been restarted); the caller should look again later.
var ErrInFlight = errors.New("an order for this name is already in flight")

// ErrReplacesRefused means the CA refused an order's ARI "replaces" (409 alreadyReplaced, or 403
// after an account or CA change). The order was not created; order again without replaces.
var ErrReplacesRefused = errors.New("the CA refused to let this order replace the certificate")

// ErrNoARI means the CA offers no renewal information.
var ErrNoARI = api.ErrNoARI

// Config is what the issuer needs to talk to one CA.
type Config struct {
	DirectoryURL string
	Email        string
	KeyType      certcrypto.KeyType
	// Transport carries ACME requests (it holds the trusted roots). Each lego client gets its own
	// http.Client around it, because lego wraps the client's transport in place.
	Transport http.RoundTripper
	UserAgent string
	HTTP01    challenge.Provider
	Store     *store.Store
	Logger    *slog.Logger
	// Profile is the ACME profile to order (ACME_PROFILE); "" leaves the choice to the CA.
	Profile string
}

// Issuer orders certificates. It is safe for concurrent use by many certificate actors.
type Issuer struct {
	cfg Config

	accountMu sync.Mutex
	account   *user

	inFlightMu sync.Mutex
	inFlight   map[string]bool
	wg         sync.WaitGroup

	profileMu      sync.Mutex
	profileChecked bool

	// ARI checks share one client and go a few at a time: at start every certificate asks at once.
	ariMu     sync.Mutex
	ariClient *lego.Client
	ariSlots  *semaphore.Weighted
}

// ariConcurrency bounds renewal-info requests in flight (Let's Encrypt allows 1000 a second per IP).
const ariConcurrency = 8

// New returns an issuer; the account is loaded or registered on the first order.
func New(cfg Config) *Issuer {
	return &Issuer{cfg: cfg, inFlight: map[string]bool{}, ariSlots: semaphore.NewWeighted(ariConcurrency)}
}

// Obtain orders a certificate for name, checks what the CA sent and stores it. It returns the stored
// bundle. Storing here, not in the actor, lets the write finish even if the actor is stopped meanwhile.
// With replaces, the order says which certificate it replaces (RFC 9773); a fresh key is made for
// every order either way.
func (i *Issuer) Obtain(name string, replaces *x509.Certificate) (*proxyapi.Bundle, error) {
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
	client, err := i.clientWith(transport)
	if err != nil {
		return nil, err
	}
	if err := i.checkProfile(); err != nil {
		return nil, err
	}
	req := certificate.ObtainRequest{Domains: []string{name}, Bundle: true, Profile: i.cfg.Profile}
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
	pemBytes := append(append([]byte{}, res.Certificate...), res.PrivateKey...)
	b, err := proxyapi.ParseBundle(pemBytes)
	if err == nil {
		err = b.Check(name, time.Now())
	}
	if err != nil {
		return nil, fmt.Errorf("the CA's certificate for %s is unusable, not stored: %w", name, err)
	}
	if err := i.cfg.Store.SaveBundle(name, pemBytes); err != nil {
		return nil, fmt.Errorf("store certificate for %s: %w", name, err)
	}
	return b, nil
}

// Window is a CA's suggested renewal window for one certificate (RFC 9773).
type Window struct {
	Start, End     time.Time
	RetryAfter     time.Duration // when to ask again; 0 if the CA did not say
	ExplanationURL string
}

// RenewalWindow asks the CA when b should be renewed. ErrNoARI: the CA offers no renewal info.
func (i *Issuer) RenewalWindow(b *proxyapi.Bundle) (Window, error) {
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
	i.ariMu.Lock()
	defer i.ariMu.Unlock()
	if i.ariClient == nil {
		c, err := i.client()
		if err != nil {
			return nil, err
		}
		i.ariClient = c
	}
	return i.ariClient, nil
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

// checkProfile makes sure, once, that the CA offers ACME_PROFILE: a typo would otherwise fail
// every order with a less obvious error.
func (i *Issuer) checkProfile() error {
	if i.cfg.Profile == "" {
		return nil
	}
	i.profileMu.Lock()
	defer i.profileMu.Unlock()
	if i.profileChecked {
		return nil
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: i.cfg.Transport}
	resp, err := client.Get(i.cfg.DirectoryURL)
	if err != nil {
		return fmt.Errorf("acme directory: %w", err)
	}
	defer resp.Body.Close()
	var dir acme.Directory
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&dir); err != nil {
		return fmt.Errorf("acme directory: %w", err)
	}
	if _, ok := dir.Meta.Profiles[i.cfg.Profile]; !ok {
		offered := make([]string, 0, len(dir.Meta.Profiles))
		for p := range dir.Meta.Profiles {
			offered = append(offered, p)
		}
		sort.Strings(offered)
		return fmt.Errorf("ACME_PROFILE %q is not offered by the CA (it offers %v)", i.cfg.Profile, offered)
	}
	i.profileChecked = true
	return nil
}

// Wait blocks until every order in flight has finished (and so has stored its certificate).
func (i *Issuer) Wait() { i.wg.Wait() }

func (i *Issuer) begin(name string) bool {
	i.inFlightMu.Lock()
	defer i.inFlightMu.Unlock()
	if i.inFlight[name] {
		return false
	}
	i.inFlight[name] = true
	i.wg.Add(1)
	return true
}

func (i *Issuer) end(name string) {
	i.inFlightMu.Lock()
	defer i.inFlightMu.Unlock()
	delete(i.inFlight, name)
	i.wg.Done()
}

// client builds a lego client for one order. A client per order keeps orders independent; it costs
// one GET of the directory.
func (i *Issuer) client() (*lego.Client, error) { return i.clientWith(nil) }

// clientWith builds the client with transport in place of the configured one (nil: configured).
func (i *Issuer) clientWith(transport http.RoundTripper) (*lego.Client, error) {
	u, err := i.ensureAccount()
	if err != nil {
		return nil, err
	}
	c, err := i.newLegoClientWith(u, transport)
	if err != nil {
		return nil, err
	}
	if err := c.Challenge.SetHTTP01Provider(i.cfg.HTTP01); err != nil {
		return nil, fmt.Errorf("acme: set http-01 provider: %w", err)
	}
	return c, nil
}

func (i *Issuer) newLegoClient(u *user) (*lego.Client, error) { return i.newLegoClientWith(u, nil) }

func (i *Issuer) transport() http.RoundTripper {
	if i.cfg.Transport != nil {
		return i.cfg.Transport
	}
	return http.DefaultTransport
}

func (i *Issuer) newLegoClientWith(u *user, transport http.RoundTripper) (*lego.Client, error) {
	cfg := lego.NewConfig(u)
	cfg.CADirURL = i.cfg.DirectoryURL
	cfg.Certificate.KeyType = i.cfg.KeyType
	if transport == nil {
		transport = i.transport()
	}
	cfg.HTTPClient = &http.Client{Timeout: 2 * time.Minute, Transport: transport}
	if i.cfg.UserAgent != "" {
		cfg.UserAgent = i.cfg.UserAgent
	}
	c, err := lego.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("acme: directory %s: %w", i.cfg.DirectoryURL, err)
	}
	return c, nil
}

// ensureAccount loads the stored account or registers one, once: Let's Encrypt limits new
// registrations per IP, and one account per installation is what it asks for.
func (i *Issuer) ensureAccount() (*user, error) {
	i.accountMu.Lock()
	defer i.accountMu.Unlock()
	if i.account != nil {
		return i.account, nil
	}
	stored, err := i.cfg.Store.LoadAccount()
	switch {
	case err == nil:
		u, err := userFromStore(stored)
		if err != nil {
			return nil, err
		}
		i.account = u
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
	reg, err := c.Registration.Register(registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		return nil, fmt.Errorf("acme account: register: %w", err)
	}
	u.reg = reg
	if err := i.cfg.Store.SaveAccount(accountForStore(u)); err != nil {
		return nil, fmt.Errorf("acme account: registered %s but could not store it: %w", reg.URI, err)
	}
	i.account = u
	i.cfg.Logger.Info("ACME account registered", "event", event.AccountRegistered, "account", reg.URI)
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
