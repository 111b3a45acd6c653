package app

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/preflight"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// dnsConfig is the issuer's DNS-01 configuration; its provider is nil without DNS_PROVIDER.
func dnsConfig(cfg Config) issuer.DNSConfig {
	return issuer.DNSConfig{
		Provider:           cfg.DNS01Provider,
		Names:              proxyapi.NewPatterns(cfg.DNS01Domains),
		Resolvers:          cfg.DNSResolvers,
		PropagationTimeout: cfg.DNSPropagationTimeout,
		PropagationWait:    cfg.DNSPropagationWait,
		DisableANS:         cfg.DNSPropagationDisableANS,
	}
}

// dnsPreflight routes the names validated by DNS-01 to the DNS pre-flight, when DNS-01 is on.
func dnsPreflight(cfg Config, c *preflight.Checker) {
	if cfg.DNSProvider == "" {
		return
	}
	names := proxyapi.NewPatterns(cfg.DNS01Domains)
	c.UsesDNS01 = func(name string) bool { return issuer.MethodFor(name, names) == issuer.DNS01 }
	c.DNS = preflight.DNSCheck{Resolvers: cfg.DNSResolvers, SkipZone: cfg.DNSPropagationDisableANS}
}

// prepareAccount checks the CA's EAB requirement and loads or registers the account before
// anything is ordered. The CA's refusal (a missing or rejected binding, a refused contact) stops
// the start as a configuration error; a CA that cannot be reached does not: the first order asks
// again.
func prepareAccount(iss *issuer.Issuer, logger *slog.Logger) error {
	err := iss.Prepare()
	var refusal *issuer.Refusal
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refusal):
		return &ConfigError{Var: refusal.Vars, Msg: strings.ReplaceAll(event.PeerText(refusal.Err.Error()), "\n", " ")}
	}
	logger.Warn("could not check the ACME account at start; the first order tries again", "event", event.AccountCheckFailed,
		"error", event.PeerText(err.Error()))
	return nil
}
