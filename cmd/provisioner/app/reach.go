package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/preflight"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/replica"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// dnsConfig is the issuer's DNS-01 configuration; its provider is nil without DNS_PROVIDER, and
// makes no DNS change once term closes.
func dnsConfig(cfg config.Config, term <-chan struct{}) issuer.DNSConfig {
	return issuer.DNSConfig{
		Provider:           replica.DNSWhileLeading(term, cfg.DNS01Provider),
		Names:              dnsname.NewPatterns(cfg.DNS01Domains),
		Resolvers:          cfg.DNSResolvers,
		PropagationTimeout: cfg.DNSPropagationTimeout,
		PropagationWait:    cfg.DNSPropagationWait,
		DisableANS:         cfg.DNSPropagationDisableANS,
	}
}

// dnsPreflight routes the names validated by DNS-01 to the DNS pre-flight, when DNS-01 is on.
func dnsPreflight(cfg config.Config, c *preflight.Checker) {
	if cfg.DNSProvider == "" {
		return
	}
	names := dnsname.NewPatterns(cfg.DNS01Domains)
	c.UsesDNS01 = func(name string) bool { return issuer.MethodFor(name, names) == issuer.DNS01 }
	c.DNS = preflight.DNSCheck{Resolvers: cfg.DNSResolvers, SkipZone: cfg.DNSPropagationDisableANS}
}

// prepareAccount checks the CA's EAB requirement and loads or registers the account before
// anything is ordered. The CA's refusal (a missing or rejected binding, a refused contact) stops
// the start as a configuration error. A CA that cannot be reached does not: the service starts and
// asks again in the background until the CA answers.
func prepareAccount(ctx context.Context, iss *issuer.Issuer, logger *slog.Logger) error {
	err := iss.Prepare()
	if err == nil {
		return nil
	}
	var refusal *issuer.Refusal
	if errors.As(err, &refusal) {
		return &config.Error{Var: refusal.Vars, Msg: strings.ReplaceAll(event.PeerText(refusal.Err.Error()), "\n", " ")}
	}
	logger.Warn("could not check the ACME account at start; asking again", "event", event.AccountCheckFailed,
		"error", event.PeerText(err.Error()), "retry_at", time.Now().Add(accountRecheck))
	go askAgain(ctx, iss, logger)
	return nil
}

// accountRecheck is the first wait before the account is asked for again; it doubles up to
// accountRecheckMax. Orders meanwhile ask too (one request at a time: the issuer's memo).
const (
	accountRecheck    = 5 * time.Second
	accountRecheckMax = 10 * time.Minute
)

// askAgain repeats the start's account check until the CA answers. A refusal now cannot stop the
// start any more; it is logged as the error it is, once, and orders keep failing until the
// configuration is fixed and the service restarted.
func askAgain(ctx context.Context, iss *issuer.Issuer, logger *slog.Logger) {
	wait := accountRecheck
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := iss.Prepare()
		var refusal *issuer.Refusal
		switch {
		case err == nil:
			return
		case errors.As(err, &refusal):
			logger.Error("the CA refused the ACME account: fix "+refusal.Vars+" and restart; no order can succeed until then",
				"event", event.AccountRefused, "variables", refusal.Vars, "error", event.PeerText(refusal.Err.Error()))
			return
		}
		wait = min(2*wait, accountRecheckMax)
		logger.Warn("could not check the ACME account; asking again", "event", event.AccountCheckFailed,
			"error", event.PeerText(err.Error()), "retry_at", time.Now().Add(wait))
	}
}
