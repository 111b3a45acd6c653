package replica

import (
	"errors"
	"time"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
)

// errNoDNSAfterTerm is what a DNS change asked for after the term ended returns.
var errNoDNSAfterTerm = errors.New("this replica no longer leads: the DNS record was left alone")

// DNSWhileLeading is WhileLeading for a DNS-01 provider: once term is closed no record is
// presented or cleaned up. A former leader's clean-up could otherwise delete the record the next
// leader's validation waits for. A change in flight runs to the provider's own end (lego gives
// providers no context). A nil term (STORE=file) or provider is returned as it is.
func DNSWhileLeading(term <-chan struct{}, p challenge.Provider) challenge.Provider {
	if term == nil || p == nil {
		return p
	}
	return dnsWhileLeading{Provider: p, term: term}
}

type dnsWhileLeading struct {
	challenge.Provider
	term <-chan struct{}
}

func (p dnsWhileLeading) Present(domain, token, keyAuth string) error {
	return p.unlessEnded(func() error { return p.Provider.Present(domain, token, keyAuth) })
}

func (p dnsWhileLeading) CleanUp(domain, token, keyAuth string) error {
	return p.unlessEnded(func() error { return p.Provider.CleanUp(domain, token, keyAuth) })
}

func (p dnsWhileLeading) unlessEnded(change func() error) error {
	select {
	case <-p.term:
		return errNoDNSAfterTerm
	default:
		return change()
	}
}

// Timeout keeps the provider's timing, or lego's default for a provider without one.
func (p dnsWhileLeading) Timeout() (timeout, interval time.Duration) {
	if t, ok := p.Provider.(challenge.ProviderTimeout); ok {
		return t.Timeout()
	}
	return dns01.DefaultPropagationTimeout, dns01.DefaultPollingInterval
}
