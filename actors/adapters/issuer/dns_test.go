package issuer

import (
	"errors"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
)

type plainProvider struct{}

func (plainProvider) Present(string, string, string) error { return nil }
func (plainProvider) CleanUp(string, string, string) error { return nil }

// countingProvider counts the DNS changes that reach it.
type countingProvider struct{ presented, cleaned *int }

func (p countingProvider) Present(string, string, string) error { *p.presented++; return nil }
func (p countingProvider) CleanUp(string, string, string) error { *p.cleaned++; return nil }

type timedProvider struct{ plainProvider }

func (timedProvider) Timeout() (time.Duration, time.Duration) { return time.Minute, 7 * time.Second }

// DNS_PROPAGATION_TIMEOUT replaces the provider's timeout and keeps its polling interval; unset,
// the provider is used as it is.
func TestPropagationTimeoutOverride(t *testing.T) {
	cases := []struct {
		name         string
		provider     challenge.Provider
		override     time.Duration
		wantTimeout  time.Duration
		wantInterval time.Duration
	}{
		{"provider with its own timing", timedProvider{}, 5 * time.Minute, 5 * time.Minute, 7 * time.Second},
		{"provider without", plainProvider{}, 5 * time.Minute, 5 * time.Minute, dns01.DefaultPollingInterval},
		{"no override keeps the provider's", timedProvider{}, 0, time.Minute, 7 * time.Second},
	}
	for _, c := range cases {
		p := DNSConfig{Provider: c.provider, PropagationTimeout: c.override}.provider()
		timed, ok := p.(challenge.ProviderTimeout)
		if !ok {
			t.Errorf("%s: the provider lost its timing", c.name)
			continue
		}
		if timeout, interval := timed.Timeout(); timeout != c.wantTimeout || interval != c.wantInterval {
			t.Errorf("%s: Timeout() = %s, %s; want %s, %s", c.name, timeout, interval, c.wantTimeout, c.wantInterval)
		}
	}
	if p := (DNSConfig{}).provider(); p != nil {
		t.Errorf("no provider configured gave %v", p)
	}
}

// Once the term ends no DNS change reaches the provider, a clean-up included; before, both pass,
// and the provider keeps its timing either way.
func TestNoDNSChangeAfterTheTerm(t *testing.T) {
	var presented, cleaned int
	term := make(chan struct{})
	p := DNSConfig{Provider: countingProvider{&presented, &cleaned}, PropagationTimeout: 3 * time.Minute, Until: term}.provider()
	if err := p.Present("example.test", "t", "k"); err != nil || presented != 1 {
		t.Fatalf("during the term: Present = %v, %d calls reached the provider", err, presented)
	}
	if err := p.CleanUp("example.test", "t", "k"); err != nil || cleaned != 1 {
		t.Fatalf("during the term: CleanUp = %v, %d calls reached the provider", err, cleaned)
	}
	close(term)
	if err := p.Present("example.test", "t", "k"); !errors.Is(err, errTermEnded) || presented != 1 {
		t.Errorf("after the term: Present = %v and %d calls reached the provider, want errTermEnded and 1", err, presented)
	}
	if err := p.CleanUp("example.test", "t", "k"); !errors.Is(err, errTermEnded) || cleaned != 1 {
		t.Errorf("after the term: CleanUp = %v and %d calls reached the provider, want errTermEnded and 1", err, cleaned)
	}
	if timeout, _ := p.(challenge.ProviderTimeout).Timeout(); timeout != 3*time.Minute {
		t.Errorf("the term's guard lost the propagation timeout: %s", timeout)
	}
	if timeout, _ := (DNSConfig{Provider: plainProvider{}, Until: term}).provider().(challenge.ProviderTimeout).Timeout(); timeout != dns01.DefaultPropagationTimeout {
		t.Errorf("a provider without timing got %s, want lego's default", timeout)
	}
}
