package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

func load(vars map[string]string) (Config, error) {
	return Load(func(k string) string { return vars[k] })
}

func TestConfigDefaults(t *testing.T) {
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyURL.String() != "http://proxy:8080" {
		t.Errorf("proxy = %s", c.ProxyURL)
	}
	if !c.Staging || c.DirectoryURL != lego.LEDirectoryStaging {
		t.Errorf("default must be staging, got %v %s", c.Staging, c.DirectoryURL)
	}
	if c.DataDir != "/etc/letsencrypt" || c.ChallengeAddr != ":80" || c.DiscoveryInterval != 30*time.Second ||
		c.KeyType != certcrypto.EC256 || c.OrderConcurrency != 8 || c.LogFormat != "json" || c.LogLevel != slog.LevelInfo {
		t.Errorf("defaults wrong: %+v", c)
	}
}

func TestConfigValues(t *testing.T) {
	c, err := load(map[string]string{
		"PROXY_ADDRESS":      "https://dfp.example.com:9443/",
		"STAGING":            "False",
		"EXCLUDE_DOMAINS":    `" Skip.Example.com , *.Internal.example.com,"`,
		"DOMAINS":            "a.example.com,B.example.com",
		"KEY_TYPE":           "RSA4096",
		"DISCOVERY_INTERVAL": "2m",
		"LOG_FORMAT":         "text",
		"LOG_LEVEL":          "debug",
		"ORDER_CONCURRENCY":  "3",
		"CERTBOT_EMAIL":      "ops@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxyURL.String() != "https://dfp.example.com:9443" {
		t.Errorf("proxy = %s", c.ProxyURL)
	}
	if c.Staging || c.DirectoryURL != lego.LEDirectoryProduction {
		t.Errorf("STAGING=False must select production, got %s", c.DirectoryURL)
	}
	if !reflect.DeepEqual(c.Exclude, []string{"skip.example.com", "*.internal.example.com"}) {
		t.Errorf("exclude = %q", c.Exclude)
	}
	if !reflect.DeepEqual(c.Domains, []string{"a.example.com", "b.example.com"}) {
		t.Errorf("domains = %q", c.Domains)
	}
	if c.KeyType != certcrypto.RSA4096 || c.DiscoveryInterval != 2*time.Minute || c.LogFormat != "text" ||
		c.LogLevel != slog.LevelDebug || c.OrderConcurrency != 3 || c.Email != "ops@example.com" {
		t.Errorf("values wrong: %+v", c)
	}
}

func TestACMEDirectoryOverridesStaging(t *testing.T) {
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "STAGING": "false", "ACME_DIRECTORY": "https://ca.internal/dir"})
	if err != nil || c.DirectoryURL != "https://ca.internal/dir" {
		t.Fatalf("directory = %s, %v", c.DirectoryURL, err)
	}
}

func TestLegoCACertificates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(path, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "LEGO_CA_CERTIFICATES": path})
	assertVar(t, err, "LEGO_CA_CERTIFICATES")
	_, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "LEGO_CA_CERTIFICATES": "/nonexistent/roots.pem"})
	assertVar(t, err, "LEGO_CA_CERTIFICATES")
}

func TestCARootsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(path, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "CA_ROOTS_FILE": path})
	assertVar(t, err, "CA_ROOTS_FILE")
	_, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "CA_ROOTS_FILE": "/nonexistent/roots.pem"})
	assertVar(t, err, "CA_ROOTS_FILE")
	root, err := certgen.NewCA("operator")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, root.Root.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "CA_ROOTS_FILE": path})
	if err != nil || c.IssuerRoots == nil {
		t.Fatalf("CA_ROOTS_FILE with a root: roots %v, %v", c.IssuerRoots, err)
	}
	if c, _ := load(map[string]string{"PROXY_ADDRESS": "proxy"}); c.IssuerRoots != nil {
		t.Error("without CA_ROOTS_FILE the roots are not the system's (nil)")
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"PROXY_ADDRESS":               {},
		"CERTBOT_EMAIL":               {"CERTBOT_EMAIL": "not an address"},
		"STAGING":                     {"STAGING": "maybe"},
		"ACME_DIRECTORY":              {"ACME_DIRECTORY": "http://ca.example.com/dir"},
		"CHALLENGE_ADDR":              {"CHALLENGE_ADDR": "80"},
		"DOMAINS":                     {"DOMAINS": "*.example.com"},
		"EXCLUDE_DOMAINS":             {"EXCLUDE_DOMAINS": "bad_name.example.com"},
		"DISCOVERY_INTERVAL":          {"DISCOVERY_INTERVAL": "10ms"},
		"KEY_TYPE":                    {"KEY_TYPE": "dsa"},
		"ORDER_CONCURRENCY":           {"ORDER_CONCURRENCY": "0"},
		"LOG_FORMAT":                  {"LOG_FORMAT": "xml"},
		"LOG_LEVEL":                   {"LOG_LEVEL": "loud"},
		"RATE_LIMITS":                 {"RATE_LIMITS": "lenient"},
		"RATE_LIMIT_MARGIN":           {"RATE_LIMIT_MARGIN": "0.95"},
		"PREFLIGHT":                   {"PREFLIGHT": "off"},
		"PPROF":                       {"PPROF": "yes please"},
		"PREFERRED_CHAIN":             {"PREFERRED_CHAIN": "ISRG Root X1\nX-Injected: 1"},
		"PREFLIGHT_ADDR":              {"PREFLIGHT_ADDR": "proxy"},
		"PREFLIGHT_RESOLVER":          {"PREFLIGHT_RESOLVER": "10.0.0.2"},
		"SERVE_CHECK":                 {"SERVE_CHECK": "yes"},
		"SERVE_CHECK_ADDR":            {"SERVE_CHECK_ADDR": "proxy"},
		"DNS_PROVIDER":                {"DNS_PROVIDER": "Cloud Flare"},
		"DNS01_DOMAINS":               {"DNS01_DOMAINS": "intranet.example.com"}, // without DNS_PROVIDER
		"DNS_RESOLVERS":               {"DNS_PROVIDER": "httpreq", "DNS_RESOLVERS": "1.1.1.1:53,:53"},
		"DNS_PROPAGATION_TIMEOUT":     {"DNS_PROVIDER": "httpreq", "DNS_PROPAGATION_TIMEOUT": "500ms"},
		"DNS_PROPAGATION_WAIT":        {"DNS_PROVIDER": "httpreq", "DNS_PROPAGATION_WAIT": "30s", "DNS_PROPAGATION_DISABLE_ANS": "true"},
		"DNS_PROPAGATION_DISABLE_ANS": {"DNS_PROVIDER": "httpreq", "DNS_PROPAGATION_DISABLE_ANS": "yes"},
		"ACME_EAB_KID":                {"ACME_EAB_KID": "kid-1"}, // without the key
		"ACME_EAB_HMAC":               {"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC": "not base64url!"},
		"ACME_EAB_HMAC_FILE":          {"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC_FILE": "/nonexistent/hmac"},
		"STORE":                       {"STORE": "consul"},
		"ETCD_ENDPOINTS":              {"STORE": "etcd"}, // required
		"ETCD_PREFIX":                 {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_PREFIX": "dfp"},
		"ETCD_LEASE_TTL":              {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_LEASE_TTL": "500ms"},
		"ETCD_CA_FILE":                {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_CA_FILE": "/nonexistent/ca.pem"},
		"ETCD_CERT_FILE":              {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_CERT_FILE": "/run/secrets/cert"},
		"ETCD_KEY_FILE":               {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_KEY_FILE": "/run/secrets/key"},
		"ETCD_USERNAME":               {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_USERNAME": "dfp"},
		"ETCD_PASSWORD_FILE":          {"STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_USERNAME": "dfp", "ETCD_PASSWORD_FILE": "/nonexistent"},
	}
	for variable, vars := range cases {
		if variable != "PROXY_ADDRESS" {
			vars["PROXY_ADDRESS"] = "proxy"
		}
		_, err := load(vars)
		assertVar(t, err, variable)
	}
	_, err := load(map[string]string{"PROXY_ADDRESS": "http://:99999"})
	assertVar(t, err, "PROXY_ADDRESS")
}

// Values that were accepted and then disabled a safeguard, wrapped around, or failed only at
// first use.
func TestHostileValuesStopTheStart(t *testing.T) {
	cases := []struct{ variable, value string }{
		{"RATE_LIMIT_MARGIN", "NaN"},
		{"RATE_LIMIT_MARGIN", "nan"},
		{"RATE_LIMIT_MARGIN", "Inf"},
		{"RATE_LIMIT_MARGIN", "-Inf"},
		{"RATE_LIMIT_MARGIN", "+inf"},
		{"REMOVED_GRACE", "213504d"},
		{"REMOVED_GRACE", "99999999999999999999d"},
		{"REMOVED_GRACE", "-1d"},
		{"DISCOVERY_INTERVAL", "9999999999h"},
		{"RENEW_INTERVAL", "NaNh"},
		{"CHALLENGE_ADDR", ":http"},
		{"CHALLENGE_ADDR", ":0"},
		{"CHALLENGE_ADDR", ":70000"},
		{"PREFLIGHT_ADDR", "proxy:eighty"},
		{"PREFLIGHT_ADDR", ":80"},
		{"PREFLIGHT_RESOLVER", "10.0.0.2:"},
		{"SERVE_CHECK_ADDR", "proxy:0"},
		{"LEGO_CA_SYSTEM_CERT_POOL", "yes"},
		{"LEGO_CA_SYSTEM_CERT_POOL", "1x"},
		{"PROXY_ADDRESS", "http://proxy:8080/?token=x"},
		{"PROXY_ADDRESS", "http://proxy:8080#frag"},
		{"PROXY_ADDRESS", "http://proxy:8080/v1/docker-flow-proxy"},
		{"SHUTDOWN_TIMEOUT", "500ms"},
		{"SHUTDOWN_TIMEOUT", "NaNs"},
		{"MAX_NAMES", "0"},
		{"MAX_NAMES", "1e9"},
		{"METRICS_ADDR", "9102"},
		{"METRICS_ADDR", ":0"},
		{"PREFLIGHT_HTTP_PORT", "0"},
		{"PREFLIGHT_HTTP_PORT", "http"},
	}
	for _, c := range cases {
		t.Run(c.variable+"="+c.value, func(t *testing.T) {
			vars := map[string]string{"PROXY_ADDRESS": "proxy", c.variable: c.value}
			_, err := load(vars)
			assertVar(t, err, c.variable)
		})
	}
}

func TestProxyAddressCredentialsAreNeverShown(t *testing.T) {
	c, err := load(map[string]string{"PROXY_ADDRESS": "http://admin:s3cret@proxy:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ProxyURL.Redacted(); strings.Contains(got, "s3cret") {
		t.Errorf("redacted address %q shows the password", got)
	}
	for _, bad := range []string{"http://admin:s3cret@proxy:8080/?x=1", "http://admin:s3cret@proxy:99999", "ftp://admin:s3cret@proxy"} {
		if _, err := load(map[string]string{"PROXY_ADDRESS": bad}); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("PROXY_ADDRESS=%s: error %v (want one, without the password)", bad, err)
		}
	}
}

func assertVar(t *testing.T, err error, variable string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != variable {
		t.Errorf("error = %v, want a Error naming %s", err, variable)
		return
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "config: "+variable+": ") {
		t.Errorf("error %q is not one line naming %s", msg, variable)
	}
}

func TestDNS01AndEABValues(t *testing.T) {
	hmacFile := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(hmacFile, []byte("c2VjcmV0LWtleQ==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "DNS_PROVIDER": "cloudflare",
		"DOMAINS": "*.Example.com, www.example.com", "DNS01_DOMAINS": "*.internal.example.com,vpn.example.com",
		"DNS_RESOLVERS": "1.1.1.1, 8.8.8.8:5353", "DNS_PROPAGATION_TIMEOUT": "3m", "DNS_PROPAGATION_DISABLE_ANS": "true",
		"ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC_FILE": hmacFile})
	if err != nil {
		t.Fatal(err)
	}
	if c.DNSProvider != "cloudflare" || !reflect.DeepEqual(c.Domains, []string{"*.example.com", "www.example.com"}) ||
		!reflect.DeepEqual(c.DNS01Domains, []string{"*.internal.example.com", "vpn.example.com"}) ||
		!reflect.DeepEqual(c.DNSResolvers, []string{"1.1.1.1:53", "8.8.8.8:5353"}) ||
		c.DNSPropagationTimeout != 3*time.Minute || !c.DNSPropagationDisableANS || c.DNSPropagationWait != 0 {
		t.Errorf("DNS values wrong: %+v", c)
	}
	// The file's padding and newline go: lego takes the key unpadded.
	if c.EABKeyID != "kid-1" || c.EABHMAC != "c2VjcmV0LWtleQ" {
		t.Errorf("EAB = %q, %q", c.EABKeyID, c.EABHMAC)
	}
	_, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "ACME_EAB_KID": "kid-1", "ACME_EAB_KID_FILE": hmacFile, "ACME_EAB_HMAC": "c2VjcmV0"})
	assertVar(t, err, "ACME_EAB_KID")
	_, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "DOMAINS": "*.example.com"})
	if err == nil || !strings.Contains(err.Error(), "DNS_PROVIDER") {
		t.Errorf("a wildcard in DOMAINS without DNS_PROVIDER: %v, want an error naming DNS_PROVIDER", err)
	}
	_, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "ACME_EAB_KID": "kid-1", "ACME_EAB_HMAC": "!!!secret-value"})
	if err == nil || strings.Contains(err.Error(), "secret-value") {
		t.Errorf("a bad HMAC key: %v; want an error that does not show it", err)
	}
}

// Let's Encrypt's directory written another way is still Let's Encrypt's: its limits apply and
// its storage key is the same.
func TestDirectoryURLIsCanonical(t *testing.T) {
	for _, v := range []string{"https://ACME-v02.api.letsencrypt.org:443/directory/", "HTTPS://acme-v02.api.letsencrypt.org/directory"} {
		c, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "ACME_DIRECTORY": v})
		if err != nil {
			t.Fatal(err)
		}
		if c.DirectoryURL != lego.LEDirectoryProduction || c.RateLimits != "production" {
			t.Errorf("ACME_DIRECTORY=%s: %q with %s limits, want Let's Encrypt production's", v, c.DirectoryURL, c.RateLimits)
		}
		if store.CAKey(v) != store.CAKey(lego.LEDirectoryProduction) {
			t.Errorf("ACME_DIRECTORY=%s is kept under %s, not %s", v, store.CAKey(v), store.CAKey(lego.LEDirectoryProduction))
		}
	}
}

func TestStoreValues(t *testing.T) {
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy"})
	if err != nil || c.Store != "file" || c.Etcd.Endpoints != nil {
		t.Fatalf("default store = %q %+v, %v", c.Store, c.Etcd, err)
	}
	c, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "etcd1:2379, http://etcd2:2379,"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Etcd.Endpoints, []string{"etcd1:2379", "http://etcd2:2379"}) || c.Etcd.Prefix != "/dfp-letsencrypt/" ||
		c.Etcd.LeaseTTL != 10*time.Second || c.Etcd.TLS != nil {
		t.Errorf("etcd defaults: %+v", c.Etcd)
	}
	c, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "https://etcd:2379",
		"ETCD_PREFIX": "/swarm/certs/", "ETCD_LEASE_TTL": "15s", "ETCD_USERNAME": "dfp", "ETCD_PASSWORD": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Etcd.TLS == nil || c.Etcd.Prefix != "/swarm/certs/" || c.Etcd.LeaseTTL != 15*time.Second || c.Etcd.Username != "dfp" || c.Etcd.Password != "pw" {
		t.Errorf("etcd values: %+v", c.Etcd)
	}
	for _, bad := range []map[string]string{
		{"ETCD_ENDPOINTS": "etcd:2379"}, // without STORE=etcd
		{"STORE": "etcd", "ETCD_ENDPOINTS": "etcd"},
		{"STORE": "etcd", "ETCD_ENDPOINTS": "unix:///run/etcd.sock"},
		{"STORE": "etcd", "ETCD_ENDPOINTS": "http://user:pw@etcd:2379"},
		// etcd's client would take the first member's scheme for all: TLS silently dropped.
		{"STORE": "etcd", "ETCD_ENDPOINTS": "http://etcd1:2379,https://etcd2:2379"},
		{"STORE": "etcd", "ETCD_ENDPOINTS": "http://etcd:2379", "ETCD_CA_FILE": "/run/secrets/etcd-ca"},
	} {
		bad["PROXY_ADDRESS"] = "proxy"
		_, err := load(bad)
		assertVar(t, err, "ETCD_ENDPOINTS")
	}
	_, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379", "ETCD_LEASE_TTL": "2500ms"})
	assertVar(t, err, "ETCD_LEASE_TTL")
	// With TLS, a bare member is reached by https:// like the others.
	c, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "etcd1:2379,https://etcd2:2379"})
	if err != nil || !reflect.DeepEqual(c.Etcd.Endpoints, []string{"https://etcd1:2379", "https://etcd2:2379"}) || c.Etcd.TLS == nil {
		t.Errorf("a bare member beside an https one: %v, %+v", err, c.Etcd)
	}
}

// A secret is taken exactly as given; other values lose one pair of quotes around them, as a
// compose file's list leaves them, and only a matching pair.
func TestQuotesAreStrippedOnlyAroundOrdinaryValues(t *testing.T) {
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379",
		"ETCD_USERNAME": "dfp", "ETCD_PASSWORD": `'pa ss"`, "EXCLUDE_DOMAINS": `"a.test, b.test"`, "DOMAINS": `'x.test'`})
	if err != nil {
		t.Fatal(err)
	}
	if c.Etcd.Password != `'pa ss"` {
		t.Errorf("ETCD_PASSWORD reached etcd as %q, want it as given", c.Etcd.Password)
	}
	if !reflect.DeepEqual(c.Exclude, []string{"a.test", "b.test"}) || !reflect.DeepEqual(c.Domains, []string{"x.test"}) {
		t.Errorf("quoted lists: EXCLUDE_DOMAINS %q, DOMAINS %q", c.Exclude, c.Domains)
	}
	c, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "STORE": "etcd", "ETCD_ENDPOINTS": "etcd:2379",
		"ETCD_USERNAME": "dfp", "ETCD_PASSWORD": `"quoted on purpose"`})
	if err != nil || c.Etcd.Password != `"quoted on purpose"` {
		t.Errorf("a password in a matching pair of quotes reached etcd as %q (%v), want it as given", c.Etcd.Password, err)
	}
	if got := unquote(`"'x.test'"`); got != `'x.test'` {
		t.Errorf("unquote stripped more than one pair: %q", got)
	}
	if got := unquote(`"x.test'`); got != `"x.test'` {
		t.Errorf("unquote stripped quotes that do not match: %q", got)
	}
}

func TestLimitsAndPreflightDefaults(t *testing.T) {
	c, err := load(map[string]string{"PROXY_ADDRESS": "proxy:9000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimits != "staging" || c.RateLimitMargin != 0.1 || !c.Preflight || c.PreflightAddr != "proxy:80" || c.PreflightResolver != "" || c.ServeCheckAddr != "proxy:443" {
		t.Errorf("staging defaults wrong: %+v", c)
	}
	c, _ = load(map[string]string{"PROXY_ADDRESS": "proxy", "STAGING": "false"})
	if c.RateLimits != "production" {
		t.Errorf("production directory got %s limits", c.RateLimits)
	}
	c, _ = load(map[string]string{"PROXY_ADDRESS": "proxy", "ACME_DIRECTORY": "https://ca.internal/dir"})
	if c.RateLimits != "none" {
		t.Errorf("another CA's limits are not Let's Encrypt's: want none unless told, got %s", c.RateLimits)
	}
	c, err = load(map[string]string{"PROXY_ADDRESS": "proxy", "RATE_LIMITS": "None", "RATE_LIMIT_MARGIN": "0",
		"PREFLIGHT": "false", "PREFLIGHT_ADDR": "lb:8080", "PREFLIGHT_RESOLVER": "127.0.0.1:5353"})
	if err != nil || c.RateLimits != "none" || c.RateLimitMargin != 0 || c.Preflight || c.PreflightAddr != "lb:8080" || c.PreflightResolver != "127.0.0.1:5353" {
		t.Errorf("values wrong: %+v, %v", c, err)
	}
}
