// Package config is the provisioner's configuration: every environment variable it reads, declared
// once in Variables (name, default, meaning), and Load, which turns the environment into a Config or
// stops the start with one line naming the variable.
package config

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

// Config is the whole configuration; every field comes from one environment variable (the DNS
// provider from DNS_PROVIDER and the provider's own).
type Config struct {
	Email             string             // CERTBOT_EMAIL
	ProxyURL          *url.URL           // PROXY_ADDRESS
	Staging           bool               // STAGING
	DirectoryURL      string             // ACME_DIRECTORY, else from STAGING
	CARoots           *x509.CertPool     // LEGO_CA_CERTIFICATES (+ LEGO_CA_SYSTEM_CERT_POOL); nil: system roots
	IssuerRoots       *x509.CertPool     // CA_ROOTS_FILE: what the CA's certificates chain to; nil: system roots
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
	Limits            limits.Table       // RATE_LIMITS' table with RATE_LIMIT_MARGIN applied: what the limiter enforces
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
	NotifyToken       string             // NOTIFY_TOKEN (or _FILE); "" lets anyone on the network notify
	AlertAfter        int                // ALERT_AFTER_FAILURES
	Profile           string             // ACME_PROFILE
	PreferredChain    string             // PREFERRED_CHAIN: the issuer common name of the chain to prefer
	ServeCheckAddr    string             // SERVE_CHECK_ADDR; "" when SERVE_CHECK=false

	// DNS-01 and other CAs (reach.go).
	DNSProvider              string        // DNS_PROVIDER: a lego provider code; "" for HTTP-01 only
	DNSResolvers             []string      // DNS_RESOLVERS: host:port list for lego's checks; nil for the system's
	DNSPropagationTimeout    time.Duration // DNS_PROPAGATION_TIMEOUT; 0 for the provider's own
	DNSPropagationWait       time.Duration // DNS_PROPAGATION_WAIT: a fixed wait instead of checking; 0 for none
	DNSPropagationDisableANS bool          // DNS_PROPAGATION_DISABLE_ANS
	DNS01Domains             []string      // DNS01_DOMAINS: patterns of names validated by DNS-01
	EABKeyID                 string        // ACME_EAB_KID (or _FILE)
	EABHMAC                  string        // ACME_EAB_HMAC (or _FILE), base64url without padding

	// Where state is kept (store.go).
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
	env := readValue(getenv)
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
		if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
			return c, &Error{"ACME_DIRECTORY", fmt.Sprintf("%q is not an https URL (ACME requires HTTPS)", v)}
		}
		c.DirectoryURL = canonicalDirectory(u)
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
	if v := env("CA_ROOTS_FILE"); v != "" {
		if c.IssuerRoots, err = rootsFile(v); err != nil {
			return c, &Error{"CA_ROOTS_FILE", err.Error()}
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
	if c.NotifyToken, err = secretVar(env, "NOTIFY_TOKEN"); err != nil {
		return c, err
	}
	if c.NotifyToken != "" && (len(c.NotifyToken) < 16 || strings.ContainsAny(c.NotifyToken, "&=#?/ %+")) {
		return c, &Error{"NOTIFY_TOKEN", "must be at least 16 characters with none of & = # ? / % + or space (it goes into the listener's URLs as is)"}
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
