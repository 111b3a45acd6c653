package config

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// variables is every variable Load reads (LEGO_CA_CERTIFICATES is left out: it reads files).
var variables = []string{
	"ACME_DIRECTORY", "ACME_PROFILE", "CERTBOT_EMAIL", "CHALLENGE_ADDR", "DATA_DIR", "DISCOVERY_INTERVAL", "DOMAINS",
	"EXCLUDE_DOMAINS", "KEY_TYPE", "LEGO_CA_SYSTEM_CERT_POOL", "LOG_FORMAT", "LOG_LEVEL", "MAX_NAMES", "METRICS_ADDR", "PREFLIGHT_HTTP_PORT",
	"ORDER_CONCURRENCY", "PPROF", "PREFERRED_CHAIN", "PREFLIGHT", "PREFLIGHT_ADDR", "PREFLIGHT_RESOLVER", "PROXY_ADDRESS", "RATE_LIMITS",
	"RATE_LIMIT_MARGIN", "RECONCILE_INTERVAL", "REMOVED_GRACE", "RENEW_INTERVAL", "SERVE_CHECK", "SERVE_CHECK_ADDR",
	"SHUTDOWN_TIMEOUT", "STAGING", "DNS_PROVIDER", "DNS01_DOMAINS", "DNS_RESOLVERS", "DNS_PROPAGATION_TIMEOUT",
	"DNS_PROPAGATION_WAIT", "DNS_PROPAGATION_DISABLE_ANS", "ACME_EAB_KID", "ACME_EAB_HMAC",
	"STORE", "ETCD_ENDPOINTS", "ETCD_PREFIX", "ETCD_USERNAME", "ETCD_PASSWORD", "ETCD_LEASE_TTL",
}

// FuzzConfig: any value of any variable either stops the start with one line naming that variable,
// or gives a configuration whose safeguards hold (a real margin, positive durations, names that
// are normalised).
func FuzzConfig(f *testing.F) {
	for i, v := range []string{"NaN", "213504d", ":http", "a.test, *.b.test", "\"'x'\"", "http://u:p@proxy:8080/?q", "-1", "0x1p-2"} {
		f.Add(uint8(i*3), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		variable := variables[int(which)%len(variables)]
		vars := map[string]string{"PROXY_ADDRESS": "proxy", variable: value}
		c, err := Load(func(k string) string { return vars[k] })
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != variable || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%q: error %q is not one line naming %s", variable, value, err, variable)
			}
			return
		}
		if math.IsNaN(c.RateLimitMargin) || c.RateLimitMargin < 0 || c.RateLimitMargin >= 0.9 {
			t.Fatalf("%s=%q gave margin %v", variable, value, c.RateLimitMargin)
		}
		for _, d := range []struct {
			name  string
			value int64
		}{{"DISCOVERY_INTERVAL", int64(c.DiscoveryInterval)}, {"RENEW_INTERVAL", int64(c.RenewInterval)},
			{"RECONCILE_INTERVAL", int64(c.ReconcileInterval)}, {"REMOVED_GRACE", int64(c.RemovedGrace)}, {"SHUTDOWN_TIMEOUT", int64(c.ShutdownTimeout)}} {
			if d.value < 1e9 {
				t.Fatalf("%s=%q gave %s of %dns", variable, value, d.name, d.value)
			}
		}
		for _, n := range c.Domains {
			if got, err := dnsname.Normalise(n); err != nil || got != n {
				t.Fatalf("DOMAINS=%q gave %q", value, n)
			}
		}
		if c.OrderConcurrency < 1 || c.MaxNames < 1 || c.ProxyURL == nil {
			t.Fatalf("%s=%q gave %+v", variable, value, c)
		}
	})
}
