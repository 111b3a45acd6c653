package app

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

func TestOrderLeaseCoversTheLongestOrder(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
		want time.Duration
	}{
		{"HTTP-01 only", config.Config{}, 10 * time.Minute},
		{"propagation settings without DNS-01 do not count", config.Config{DNSPropagationTimeout: time.Hour}, 10 * time.Minute},
		{"DNS-01 with a provider that has no timeout of its own", config.Config{DNSProvider: "httpreq"}, 10 * time.Minute},
		{"DNS-01 with the provider's own timeout", config.Config{DNSProvider: "slow", DNS01Provider: slowProvider{}}, 40 * time.Minute},
		{"DNS_PROPAGATION_TIMEOUT wins over the provider's", config.Config{DNSProvider: "slow", DNS01Provider: slowProvider{}, DNSPropagationTimeout: time.Minute}, 11 * time.Minute},
		{"DNS-01 waiting 24 h for propagation", config.Config{DNSProvider: "httpreq", DNSPropagationTimeout: 24 * time.Hour}, 24*time.Hour + 10*time.Minute},
		{"DNS-01 with a fixed wait", config.Config{DNSProvider: "httpreq", DNSPropagationWait: 20 * time.Minute}, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OrderLease(tt.cfg); got != tt.want {
				t.Errorf("OrderLease = %v, want %v", got, tt.want)
			}
		})
	}
}

// slowProvider is a DNS provider whose own propagation timeout is 30 minutes.
type slowProvider struct{}

func (slowProvider) Present(domain, token, keyAuth string) error { return nil }
func (slowProvider) CleanUp(domain, token, keyAuth string) error { return nil }
func (slowProvider) Timeout() (time.Duration, time.Duration) {
	return 30 * time.Minute, 10 * time.Second
}
