package app

import (
	"cmp"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/go-acme/lego/v4/challenge"
	"golang.org/x/sync/semaphore"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/preflight"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/alerter"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/recovery"
	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// alerterProps is nil when ALERT_WEBHOOK_URL is not set.
func alerterProps(cfg config.Config, logger *slog.Logger) *actor.Props {
	if cfg.AlertWebhookURL == "" {
		return nil
	}
	return alerter.Props(alerter.Config{URL: cfg.AlertWebhookURL, Timeout: 10 * time.Second, Logger: logger, Now: time.Now})
}

func wrap(fault func(http.RoundTripper) http.RoundTripper, rt http.RoundTripper) http.RoundTripper {
	if fault == nil {
		return rt
	}
	return fault(rt)
}

func limiterConfig(cfg config.Config, st *store.Store, logger *slog.Logger) ratelimiter.Config {
	return ratelimiter.Config{
		Table:       cfg.Limits,
		Ledger:      st.Ledger(),
		Concurrency: cfg.OrderConcurrency,
		Lease:       OrderLease(cfg),
		Issued:      func() ([]ratelimiter.Booking, error) { return recovery.Bookings(st) },
		Logger:      logger,
		Now:         time.Now,
		// At most five writes a second: a bulk issuance's grants share them, a lone one waits for none.
		WriteEvery: 200 * time.Millisecond,
	}
}

// preflightChecker is nil when PREFLIGHT=false; a nil interface, not a nil pointer in one.
func preflightChecker(cfg config.Config, tokens webroot.Answers, iss *issuer.Issuer) certificate.Preflighter {
	if !cfg.Preflight {
		return nil
	}
	c := &preflight.Checker{
		Resolver:  preflight.NewResolver(cfg.PreflightResolver),
		ProxyAddr: cfg.PreflightAddr,
		Tokens:    tokens,
		Timeout:   15 * time.Second,
		Slots:     semaphore.NewWeighted(preflightConcurrency),
		HTTPPort:  cfg.PreflightHTTPPort,
		// Named in failures: a name resolving elsewhere than expected is often a resolver question.
		ResolverName: cmp.Or(cfg.PreflightResolver, "system"),
	}
	dnsPreflight(cfg, c)
	c.CAA = preflight.CAACheck{TCP: cfg.PreflightResolver != "", Issuer: func() (preflight.CAAIssuer, error) {
		domains, account, err := iss.CAAIdentity()
		return preflight.CAAIssuer{Domains: domains, AccountURI: account}, err
	}}
	if cfg.PreflightResolver != "" {
		c.CAA.Servers = []string{cfg.PreflightResolver}
	}
	return c
}

// bytesPerName bounds one name's share of DFP's GET /certs: a bundle with an RSA-4096 key and two
// intermediates, JSON-escaped, is under 16 KiB (Let's Encrypt's ECDSA bundles are about 3.5 KB).
const bytesPerName = 16 << 10

// maxDFPBody caps DFP's answers whatever MAX_NAMES says: 512 MiB holds 32,768 of the largest
// bundles, and a hostile or broken DFP must not make the service read gigabytes.
const maxDFPBody = 512 << 20

func acmeTransport(cfg config.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.CARoots},
		// Every order in flight keeps its connection to the CA between requests: Go's default of
		// two idle connections per host made most requests of a burst a new TLS handshake.
		MaxIdleConnsPerHost: cfg.OrderConcurrency + 8, // and the ARI checks
		IdleConnTimeout:     90 * time.Second,
	}
}

// OrderLease is how long an order may hold its slot before the limiter takes it back: the longest
// order the configuration allows, so that a DNS-01 order waiting DNS_PROPAGATION_TIMEOUT (up to
// 24 h; without it the provider's own timeout) for its record, or DNS_PROPAGATION_WAIT, keeps its
// slot to the end.
func OrderLease(cfg config.Config) time.Duration {
	if cfg.DNSProvider == "" {
		return baseOrderLease
	}
	propagation := cfg.DNSPropagationTimeout
	if p, ok := cfg.DNS01Provider.(challenge.ProviderTimeout); ok && propagation == 0 {
		propagation, _ = p.Timeout() // the provider's own, which lego uses then
	}
	return baseOrderLease + propagation + cfg.DNSPropagationWait
}
