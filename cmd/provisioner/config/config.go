// Package config is the provisioner's configuration: every environment variable it reads, declared
// once in Variables (name, default, meaning), and Load, which turns the environment into a Config or
// stops the start with one line naming the variable.
package config

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Config is the whole configuration; every field comes from one environment variable (the DNS
// provider from DNS_PROVIDER and the provider's own).
type Config struct {
	Email             string             // CERTBOT_EMAIL
	ProxyURL          *url.URL           // PROXY_ADDRESS
	Staging           bool               // STAGING
	DirectoryURL      string             // ACME_DIRECTORY, else from STAGING
	CARoots           *x509.CertPool     // LEGO_CA_CERTIFICATES (+ LEGO_CA_SYSTEM_CERT_POOL); nil: system roots
	DataDir           string             // DATA_DIR
	ChallengeAddr     string             // CHALLENGE_ADDR
	Domains           []string           // DOMAINS
	Exclude           []string           // EXCLUDE_DOMAINS
	DiscoveryInterval time.Duration      // DISCOVERY_INTERVAL
	KeyType           certcrypto.KeyType // KEY_TYPE
	OrderConcurrency  int                // ORDER_CONCURRENCY
	LogFormat         string             // LOG_FORMAT
	LogLevel          slog.Level         // LOG_LEVEL
	RateLimits        string             // RATE_LIMITS: production, staging, none
	RateLimitMargin   float64            // RATE_LIMIT_MARGIN
	Preflight         bool               // PREFLIGHT
	PreflightAddr     string             // PREFLIGHT_ADDR
	PreflightResolver string             // PREFLIGHT_RESOLVER
	PreflightHTTPPort int                // PREFLIGHT_HTTP_PORT: where the CA connects (80)
	RenewInterval     time.Duration      // RENEW_INTERVAL
	ReconcileInterval time.Duration      // RECONCILE_INTERVAL
	RemovedGrace      time.Duration      // REMOVED_GRACE
	ShutdownTimeout   time.Duration      // SHUTDOWN_TIMEOUT
	MaxNames          int                // MAX_NAMES
	MetricsAddr       string             // METRICS_ADDR: the internal port; "" when off
	Pprof             bool               // PPROF: Go's profiles on the internal port
	AlertWebhookURL   string             // ALERT_WEBHOOK_URL; "" for none
	AlertAfter        int                // ALERT_AFTER_FAILURES
	Profile           string             // ACME_PROFILE
	PreferredChain    string             // PREFERRED_CHAIN: the issuer common name of the chain to prefer
	ServeCheckAddr    string             // SERVE_CHECK_ADDR; "" when SERVE_CHECK=false

	// DNS-01 and other CAs (config_reach.go).
	DNSProvider              string        // DNS_PROVIDER: a lego provider code; "" for HTTP-01 only
	DNSResolvers             []string      // DNS_RESOLVERS: host:port list for lego's checks; nil for the system's
	DNSPropagationTimeout    time.Duration // DNS_PROPAGATION_TIMEOUT; 0 for the provider's own
	DNSPropagationWait       time.Duration // DNS_PROPAGATION_WAIT: a fixed wait instead of checking; 0 for none
	DNSPropagationDisableANS bool          // DNS_PROPAGATION_DISABLE_ANS
	DNS01Domains             []string      // DNS01_DOMAINS: patterns of names validated by DNS-01
	EABKeyID                 string        // ACME_EAB_KID (or _FILE)
	EABHMAC                  string        // ACME_EAB_HMAC (or _FILE), base64url without padding

	// Where state is kept (config_store.go).
	Store string // STORE: file (DATA_DIR) or etcd
	Etcd  Etcd   // ETCD_*, with STORE=etcd

	// DNS01Provider is built by the command from DNS_PROVIDER (lego reads the provider's own
	// variables then), so that only the binary links every provider's SDK.
	DNS01Provider challenge.Provider
}

// Error names the variable that stopped the start.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s: %s", e.Var, e.Msg) }

var keyTypes = map[string]certcrypto.KeyType{
	"ec256": certcrypto.EC256, "ec384": certcrypto.EC384,
	"rsa2048": certcrypto.RSA2048, "rsa3072": certcrypto.RSA3072, "rsa4096": certcrypto.RSA4096,
}

// Load reads the configuration through getenv (os.Getenv in production). The first bad value
// stops it with a *Error naming the variable.
func Load(getenv func(string) string) (Config, error) {
	env := func(name string) string { return unquote(getenv(name)) }
	// Defaults read through a helper (boolVar, hostPortVar, the durations table) are set there.
	c := Config{DataDir: "/etc/letsencrypt", KeyType: certcrypto.EC256, OrderConcurrency: 8, LogFormat: "json",
		LogLevel: slog.LevelInfo}

	if v := env("CERTBOT_EMAIL"); v != "" {
		if _, err := mail.ParseAddress(v); err != nil || strings.ContainsAny(v, " <>") {
			return c, &Error{"CERTBOT_EMAIL", fmt.Sprintf("%q is not an e-mail address", v)}
		}
		c.Email = v
	}
	var err error
	if c.ProxyURL, err = parseProxyAddress(env("PROXY_ADDRESS")); err != nil {
		return c, &Error{"PROXY_ADDRESS", err.Error()}
	}
	if c.Staging, err = boolVar(env, "STAGING", true); err != nil {
		return c, err
	}
	c.DirectoryURL = lego.LEDirectoryStaging
	if !c.Staging {
		c.DirectoryURL = lego.LEDirectoryProduction
	}
	if v := env("ACME_DIRECTORY"); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return c, &Error{"ACME_DIRECTORY", fmt.Sprintf("%q is not an https URL (ACME requires HTTPS)", v)}
		}
		c.DirectoryURL = v
	}
	system, err := boolVar(env, "LEGO_CA_SYSTEM_CERT_POOL", false)
	if err != nil {
		return c, err
	}
	if v := env("LEGO_CA_CERTIFICATES"); v != "" {
		if c.CARoots, err = lego.CreateCertPool(strings.Split(v, string(os.PathListSeparator)), system); err != nil {
			return c, &Error{"LEGO_CA_CERTIFICATES", err.Error()}
		}
	}
	if v := env("DATA_DIR"); v != "" {
		c.DataDir = v
	}
	if c.ChallengeAddr, err = hostPortVar(env, "CHALLENGE_ADDR", ":80", ":80", false); err != nil {
		return c, err
	}
	if c.Domains, err = parseNames(env("DOMAINS"), true); err != nil {
		return c, &Error{"DOMAINS", err.Error()}
	}
	if c.Exclude, err = parseNames(env("EXCLUDE_DOMAINS"), true); err != nil {
		return c, &Error{"EXCLUDE_DOMAINS", err.Error()}
	}
	durations := []struct {
		name    string
		dst     *time.Duration
		def     time.Duration
		example string
	}{
		{"DISCOVERY_INTERVAL", &c.DiscoveryInterval, 30 * time.Second, "30s"},
		{"RENEW_INTERVAL", &c.RenewInterval, 12 * time.Hour, "12h"},
		{"RECONCILE_INTERVAL", &c.ReconcileInterval, 5 * time.Minute, "5m"},
		{"REMOVED_GRACE", &c.RemovedGrace, 7 * 24 * time.Hour, "7d"},
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 8 * time.Second, "8s"},
	}
	for _, d := range durations {
		*d.dst = d.def
		if v := env(d.name); v != "" {
			if *d.dst, err = parseDuration(v); err != nil || *d.dst < time.Second {
				return c, &Error{d.name, fmt.Sprintf("%q is not a duration of at least 1s (e.g. %s)", v, d.example)}
			}
		}
	}
	if v := env("ACME_PROFILE"); v != "" {
		if strings.ContainsAny(v, " /?#") {
			return c, &Error{"ACME_PROFILE", fmt.Sprintf("%q is not a profile name (e.g. classic, tlsserver, shortlived)", v)}
		}
		c.Profile = v
	}
	if v := env("PREFERRED_CHAIN"); v != "" {
		if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return c, &Error{"PREFERRED_CHAIN", fmt.Sprintf("%q is not a certificate common name (e.g. ISRG Root X1)", v)}
		}
		c.PreferredChain = v
	}
	if v := env("KEY_TYPE"); v != "" {
		kt, ok := keyTypes[strings.ToLower(v)]
		if !ok {
			return c, &Error{"KEY_TYPE", fmt.Sprintf("%q is not one of ec256, ec384, rsa2048, rsa3072, rsa4096", v)}
		}
		c.KeyType = kt
	}
	if v := env("ORDER_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return c, &Error{"ORDER_CONCURRENCY", fmt.Sprintf("%q is not a whole number from 1 to 64", v)}
		}
		c.OrderConcurrency = n
	}
	if c.MetricsAddr, err = MetricsAddr(getenv); err != nil {
		return c, err
	}
	if c.Pprof, err = boolVar(env, "PPROF", false); err != nil {
		return c, err
	}
	if v := env("ALERT_WEBHOOK_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &Error{"ALERT_WEBHOOK_URL", "not an http(s) URL (e.g. a Slack or Mattermost incoming webhook)"}
		}
		c.AlertWebhookURL = v
	}
	c.AlertAfter = 3
	if v := env("ALERT_AFTER_FAILURES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return c, &Error{"ALERT_AFTER_FAILURES", fmt.Sprintf("%q is not a whole number from 1 to 100", v)}
		}
		c.AlertAfter = n
	}
	c.MaxNames = 5000
	if v := env("MAX_NAMES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return c, &Error{"MAX_NAMES", fmt.Sprintf("%q is not a whole number from 1 to 1000000", v)}
		}
		c.MaxNames = n
	}
	switch v := strings.ToLower(env("LOG_FORMAT")); v {
	case "", "json":
	case "text":
		c.LogFormat = "text"
	default:
		return c, &Error{"LOG_FORMAT", fmt.Sprintf("%q is neither json nor text", v)}
	}
	if v := env("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, &Error{"LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", v)}
		}
	}
	if err := c.loadLimitsAndPreflight(env); err != nil {
		return c, err
	}
	if err := c.loadReach(env); err != nil {
		return c, err
	}
	if err := c.loadStore(env); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) loadLimitsAndPreflight(env func(string) string) error {
	// Let's Encrypt staging has its own, larger limits. Other CAs have other limits, which the
	// tables do not describe (the README lists some): none unless told.
	switch c.DirectoryURL {
	case lego.LEDirectoryProduction:
		c.RateLimits = "production"
	case lego.LEDirectoryStaging:
		c.RateLimits = "staging"
	default:
		c.RateLimits = "none"
	}
	if v := strings.ToLower(env("RATE_LIMITS")); v != "" {
		if v != "production" && v != "staging" && v != "none" {
			return &Error{"RATE_LIMITS", fmt.Sprintf("%q is not one of production, staging, none", v)}
		}
		c.RateLimits = v
	}
	c.RateLimitMargin = 0.1
	if v := env("RATE_LIMIT_MARGIN"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f < 0.9) { // written so that NaN fails too

			return &Error{"RATE_LIMIT_MARGIN", fmt.Sprintf("%q is not a fraction from 0 to 0.9 (e.g. 0.1 keeps 10%% in reserve)", v)}
		}
		c.RateLimitMargin = f
	}
	var err error
	proxyHost := c.ProxyURL.Hostname()
	if c.Preflight, err = boolVar(env, "PREFLIGHT", true); err != nil {
		return err
	}
	if c.PreflightAddr, err = hostPortVar(env, "PREFLIGHT_ADDR", net.JoinHostPort(proxyHost, "80"), "proxy:80", true); err != nil {
		return err
	}
	if c.PreflightResolver, err = hostPortVar(env, "PREFLIGHT_RESOLVER", "", "10.0.0.2:53", true); err != nil {
		return err
	}
	c.PreflightHTTPPort = 80
	if v := env("PREFLIGHT_HTTP_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return &Error{"PREFLIGHT_HTTP_PORT", fmt.Sprintf("%q is not a port from 1 to 65535 (80 unless a test CA validates elsewhere)", v)}
		}
		c.PreflightHTTPPort = n
	}
	serveCheck, err := boolVar(env, "SERVE_CHECK", true)
	if err != nil {
		return err
	}
	if c.ServeCheckAddr, err = hostPortVar(env, "SERVE_CHECK_ADDR", net.JoinHostPort(proxyHost, "443"), "proxy:443", true); err != nil {
		return err
	}
	if !serveCheck {
		c.ServeCheckAddr = ""
	}
	return nil
}

// MetricsAddr reads METRICS_ADDR alone, for the health command: the internal port's address, or
// "" when it is off.
func MetricsAddr(getenv func(string) string) (string, error) {
	env := func(name string) string { return unquote(getenv(name)) }
	if strings.ToLower(env("METRICS_ADDR")) == "off" {
		return "", nil
	}
	return hostPortVar(env, "METRICS_ADDR", ":9102", ":9102 or off", false)
}

// boolVar reads a variable that is true, false, or unset (def).
func boolVar(env func(string) string, name string, def bool) (bool, error) {
	switch v := strings.ToLower(env(name)); v {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return def, &Error{name, fmt.Sprintf("%q is neither true nor false", v)}
	}
}

// hostPortVar reads a host:port variable, or def when it is unset. The port is a number from 1 to
// 65535; the host may be empty (every interface) only where needHost is false.
func hostPortVar(env func(string) string, name, def, example string, needHost bool) (string, error) {
	v := env(name)
	if v == "" {
		return def, nil
	}
	if !validHostPort(v, needHost) {
		return def, &Error{name, fmt.Sprintf("%q is not host:port with a port from 1 to 65535 (e.g. %s)", v, example)}
	}
	return v, nil
}

// validHostPort says whether v is host:port with a port from 1 to 65535 (and a host, if needHost).
func validHostPort(v string, needHost bool) bool {
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 1 && n <= 65535 && (!needHost || host != "")
}

// parseDuration is time.ParseDuration plus whole days ("7d"), the unit grace periods come in.
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, err
		}
		if n > math.MaxInt64/int64(24*time.Hour) || n < 0 {
			return 0, fmt.Errorf("%s days is out of range", days)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// unquote drops surrounding space and the literal quotes compose files leave in values
// (EXCLUDE_DOMAINS="a.com,b.com" in a YAML list keeps the quotes).
func unquote(v string) string {
	v = strings.TrimSpace(v)
	for len(v) >= 1 && (v[0] == '"' || v[0] == '\'') {
		v = strings.TrimSpace(strings.Trim(v, `"'`))
	}
	return v
}

func parseProxyAddress(v string) (*url.URL, error) {
	if v == "" {
		return nil, fmt.Errorf("required: Docker Flow Proxy's address, e.g. proxy, proxy:8080 or http://proxy:8080")
	}
	raw := v
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		shown := v
		if strings.Contains(v, "@") { // it may hold a password; the error line is logged
			shown = "the value (hidden: it has user info)"
		}
		return nil, fmt.Errorf("%q is not host, host:port or an http(s) URL", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has a bad port", u.Redacted())
		}
	} else if !strings.Contains(v, "://") {
		u.Host = net.JoinHostPort(u.Hostname(), "8080")
	}
	// The API path is joined to this URL; anything that would be dropped or doubled is refused.
	switch {
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%q has a query or fragment, which would be dropped; give scheme://host:port", u.Redacted())
	case strings.Contains(u.Path, "/v1/docker-flow-proxy"):
		return nil, fmt.Errorf("%q includes DFP's API path; give scheme://host:port", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// parseNames reads a comma list of names; wildcards ("*.example.com") only where allowed.
func parseNames(v string, allowWildcard bool) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(v, ",") {
		item := strings.ToLower(unquote(raw))
		if item == "" {
			continue
		}
		prefix := ""
		if rest, ok := strings.CutPrefix(item, "*."); ok && allowWildcard {
			prefix, item = "*.", rest
		}
		name, err := proxyapi.NormaliseName(item)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", unquote(raw), err)
		}
		out = append(out, prefix+name)
	}
	return out, nil
}
