// Package issuer is the lego glue, split by concern as lego splits its own packages:
//
//	issuer.go   the Issuer, its lego clients, and which orders are in flight
//	account.go  one ACME account per CA, loaded or registered once and stored
//	order.go    Obtain: one order, checked and stored; the "replaces" guard
//	dns.go      which names DNS-01 validates (MethodFor), and lego's DNS-01 options
//	start.go    the start's account check (Prepare): EAB required? refused, or only unreachable?
//	ari.go      the CA's renewal window for a certificate (RFC 9773)
//	profile.go  the check that the CA offers ACME_PROFILE
//	classify.go what an order's error means: the Kind of failure, the CA's time and limit
//
// Nothing here does network or disk I/O under a mutex: the account, the profile check and the
// shared renewal-info client are each made once (memo.go, through singleflight).
package issuer

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-acme/lego/v4/acme/api"
	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
	"github.com/go-acme/lego/v4/lego"
	"golang.org/x/sync/semaphore"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
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
	// DNS validates wildcards and DNS01_DOMAINS through a lego provider (dns.go).
	DNS DNSConfig
	// EAB binds the account to one the CA already knows (ACME_EAB_KID, ACME_EAB_HMAC); zero: none.
	EAB    EAB
	Store  *store.Store
	Logger *slog.Logger
	// Profile is the ACME profile to order (ACME_PROFILE); "" leaves the choice to the CA.
	Profile string
	// PreferredChain is the issuer common name at the top of the chain to take when the CA offers
	// alternates (PREFERRED_CHAIN); "" takes the CA's default, as does a name no chain matches.
	PreferredChain string
}

// Issuer orders certificates. It is safe for concurrent use by many certificate actors.
type Issuer struct {
	cfg Config

	// Each made once, without a lock held over the network (see memo).
	account        memo[*user]
	profileChecked memo[bool]
	caaDomains     memo[[]string]
	ariClient      memo[*lego.Client]

	inFlightMu sync.Mutex
	inFlight   map[string]bool
	stopping   bool // Wait has begun: no new order starts (a WaitGroup must not grow while waited on)
	wg         sync.WaitGroup
	finished   atomic.Uint64

	// ARI checks share one client and go a few at a time: at start every certificate asks at once.
	ariSlots *semaphore.Weighted
}

// ariConcurrency bounds renewal-info requests in flight (Let's Encrypt allows 1000 a second per IP).
const ariConcurrency = 8

// New returns an issuer; the account is loaded or registered by Prepare, or else the first order.
func New(cfg Config) *Issuer {
	if len(cfg.DNS.Resolvers) > 0 {
		_ = dns01.AddRecursiveNameservers(cfg.DNS.Resolvers)(nil) // sets lego's package variable; never fails
	}
	return &Issuer{cfg: cfg, inFlight: map[string]bool{}, ariSlots: semaphore.NewWeighted(ariConcurrency)}
}

// Wait blocks until every order in flight has finished (and so has stored its certificate); from
// its call on, no new order starts.
func (i *Issuer) Wait() {
	i.inFlightMu.Lock()
	i.stopping = true
	i.inFlightMu.Unlock()
	i.wg.Wait()
}

// InFlight lists the names whose orders are running.
func (i *Issuer) InFlight() []string {
	i.inFlightMu.Lock()
	defer i.inFlightMu.Unlock()
	names := make([]string, 0, len(i.inFlight))
	for n := range i.inFlight {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (i *Issuer) begin(name string) bool {
	i.inFlightMu.Lock()
	defer i.inFlightMu.Unlock()
	if i.inFlight[name] || i.stopping {
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
	i.finished.Add(1)
	i.wg.Done()
}

// Finished counts the orders that have ended, however they ended, since the issuer was made.
func (i *Issuer) Finished() uint64 { return i.finished.Load() }

// clientFor builds a lego client for one order of name, able to solve only the name's method. A
// client per order keeps orders independent; it costs one GET of the directory. transport replaces
// the configured one (nil: configured).
func (i *Issuer) clientFor(name string, transport http.RoundTripper) (*lego.Client, error) {
	u, err := i.ensureAccount()
	if err != nil {
		return nil, err
	}
	c, err := i.newLegoClientWith(u, transport)
	if err != nil {
		return nil, err
	}
	if i.Method(name) == DNS01 {
		if i.cfg.DNS.Provider == nil {
			return nil, fmt.Errorf("acme: %s needs DNS-01, and DNS_PROVIDER is not set", name)
		}
		err = c.Challenge.SetDNS01Provider(i.cfg.DNS.provider(), i.cfg.DNS.dnsOptions()...)
	} else {
		err = c.Challenge.SetHTTP01Provider(i.cfg.HTTP01)
	}
	if err != nil {
		return nil, fmt.Errorf("acme: set %s provider: %w", i.Method(name), err)
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
	cfg.HTTPClient = &http.Client{Transport: withDeadline{next: transport, timeout: 2 * time.Minute}}
	if i.cfg.UserAgent != "" {
		cfg.UserAgent = i.cfg.UserAgent
	}
	c, err := lego.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("acme: directory %s: %w", i.cfg.DirectoryURL, err)
	}
	return c, nil
}
