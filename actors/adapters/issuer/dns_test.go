package issuer

import (
	"testing"
	"time"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
)

type plainProvider struct{}

func (plainProvider) Present(string, string, string) error { return nil }
func (plainProvider) CleanUp(string, string, string) error { return nil }

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
