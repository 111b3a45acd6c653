package issuer

import (
	"time"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// Method is how the CA validates a name.
type Method string

// The methods: HTTP-01 through the responder behind DFP, DNS-01 through a lego provider.
const (
	HTTP01 Method = "http-01"
	DNS01  Method = "dns-01"
)

// MethodFor decides a name's method: DNS-01 for wildcards (the CA accepts nothing else for them)
// and for names matching DNS01_DOMAINS (hosts the CA cannot reach on port 80), HTTP-01 otherwise.
func MethodFor(name string, dns01Names dnsname.Patterns) Method {
	if dnsname.IsWildcard(name) || dns01Names.Match(name) {
		return DNS01
	}
	return HTTP01
}

// DNSConfig is DNS-01's configuration: the provider and lego's propagation check, as lego's CLI
// takes them.
type DNSConfig struct {
	Provider challenge.Provider // nil: no DNS-01
	Names    dnsname.Patterns   // DNS01_DOMAINS
	// Resolvers (host:port) are asked for the zone and the record; nil: the system's.
	Resolvers []string
	// PropagationTimeout replaces the provider's own timeout; 0 keeps it.
	PropagationTimeout time.Duration
	// PropagationWait replaces the check by a fixed wait; 0 checks.
	PropagationWait time.Duration
	// DisableANS skips asking the zone's authoritative servers (test DNS servers do not answer SOA).
	DisableANS bool
}

// Method is the method the issuer uses for name.
func (i *Issuer) Method(name string) Method { return MethodFor(name, i.cfg.DNS.Names) }

// dnsOptions are the per-challenge options. The resolvers are not among them: lego keeps them in
// a package variable, which New sets once rather than every order racing to set it.
func (c DNSConfig) dnsOptions() []dns01.ChallengeOption {
	return []dns01.ChallengeOption{
		dns01.CondOption(c.DisableANS, dns01.DisableAuthoritativeNssPropagationRequirement()),
		dns01.CondOption(c.PropagationWait > 0, dns01.PropagationWait(c.PropagationWait, true)),
	}
}

// provider is the configured provider, with PropagationTimeout in place of its own.
func (c DNSConfig) provider() challenge.Provider {
	if c.Provider == nil || c.PropagationTimeout == 0 {
		return c.Provider
	}
	return withTimeout{Provider: c.Provider, timeout: c.PropagationTimeout}
}

// withTimeout gives a provider another propagation timeout, keeping its polling interval.
type withTimeout struct {
	challenge.Provider
	timeout time.Duration
}

func (p withTimeout) Timeout() (timeout, interval time.Duration) {
	interval = dns01.DefaultPollingInterval
	if t, ok := p.Provider.(challenge.ProviderTimeout); ok {
		_, interval = t.Timeout()
	}
	return p.timeout, interval
}
