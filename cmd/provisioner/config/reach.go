package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// The variables that reach past HTTP-01 and Let's Encrypt: DNS-01 through lego's providers, and
// External Account Binding for CAs that require it.

// loadReach reads DNS_PROVIDER and its propagation settings, DNS01_DOMAINS, and the EAB pair.
// The provider's own variables (CLOUDFLARE_DNS_API_TOKEN, ...) are read by lego when it is built.
func (c *Config) loadReach(env func(string) string) error {
	if v := env("DNS_PROVIDER"); v != "" {
		if strings.ContainsFunc(v, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') }) {
			return &Error{"DNS_PROVIDER", fmt.Sprintf("%q is not a lego provider code (e.g. cloudflare, route53, rfc2136, httpreq)", v)}
		}
		c.DNSProvider = v
	}
	var err error
	if c.DNS01Domains, err = parseNames(env("DNS01_DOMAINS"), true); err != nil {
		return &Error{"DNS01_DOMAINS", err.Error()}
	}
	for _, name := range []string{"DNS01_DOMAINS", "DNS_RESOLVERS", "DNS_PROPAGATION_TIMEOUT", "DNS_PROPAGATION_WAIT", "DNS_PROPAGATION_DISABLE_ANS"} {
		if c.DNSProvider == "" && env(name) != "" {
			return &Error{name, "has no effect without DNS_PROVIDER"}
		}
	}
	for _, d := range c.Domains {
		if dnsname.IsWildcard(d) && c.DNSProvider == "" {
			return &Error{"DOMAINS", fmt.Sprintf("%q is a wildcard, which only DNS-01 can issue: set DNS_PROVIDER", d)}
		}
	}
	if v := env("DNS_RESOLVERS"); v != "" {
		for _, item := range strings.Split(v, ",") {
			r := strings.TrimSpace(item)
			if _, _, err := net.SplitHostPort(r); err != nil {
				r = net.JoinHostPort(r, "53")
			}
			if !validHostPort(r, true) || strings.ContainsAny(r, "/ ") {
				return &Error{"DNS_RESOLVERS", fmt.Sprintf("%q is not a comma list of host or host:port (e.g. 1.1.1.1:53,8.8.8.8)", v)}
			}
			c.DNSResolvers = append(c.DNSResolvers, r)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"DNS_PROPAGATION_TIMEOUT", &c.DNSPropagationTimeout}, {"DNS_PROPAGATION_WAIT", &c.DNSPropagationWait}} {
		if v := env(d.name); v != "" {
			if *d.dst, err = parseDuration(v); err != nil || *d.dst < time.Second || *d.dst > 24*time.Hour {
				return &Error{d.name, fmt.Sprintf("%q is not a duration from 1s to 24h (e.g. 2m)", v)}
			}
		}
	}
	if c.DNSPropagationDisableANS, err = boolVar(env, "DNS_PROPAGATION_DISABLE_ANS", false); err != nil {
		return err
	}
	if c.DNSPropagationDisableANS && c.DNSPropagationWait > 0 {
		// As lego's CLI: a fixed wait replaces every check, so also turning one off is a mistake.
		return &Error{"DNS_PROPAGATION_WAIT", "cannot be used with DNS_PROPAGATION_DISABLE_ANS (a fixed wait skips every check)"}
	}
	return c.loadEAB(env)
}

// loadEAB reads the External Account Binding pair, each from its variable or its _FILE (a Docker
// secret). The HMAC key is never shown in an error.
func (c *Config) loadEAB(env func(string) string) error {
	var err error
	if c.EABKeyID, err = secretVar(env, "ACME_EAB_KID"); err != nil {
		return err
	}
	if c.EABHMAC, err = secretVar(env, "ACME_EAB_HMAC"); err != nil {
		return err
	}
	switch {
	case c.EABKeyID != "" && c.EABHMAC == "":
		return &Error{"ACME_EAB_KID", "needs ACME_EAB_HMAC (or ACME_EAB_HMAC_FILE) too"}
	case c.EABKeyID == "" && c.EABHMAC != "":
		return &Error{"ACME_EAB_HMAC", "needs ACME_EAB_KID (or ACME_EAB_KID_FILE) too"}
	case c.EABKeyID != "" && strings.ContainsFunc(c.EABKeyID, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return &Error{"ACME_EAB_KID", "has spaces or control characters; give the key ID as the CA shows it"}
	}
	if c.EABHMAC != "" {
		// CAs hand the key out base64url-encoded, some with padding; lego wants it without.
		c.EABHMAC = strings.TrimRight(c.EABHMAC, "=")
		if _, err := base64.RawURLEncoding.DecodeString(c.EABHMAC); err != nil {
			return &Error{"ACME_EAB_HMAC", "is not base64url (the HMAC key as the CA shows it; its value is not shown here)"}
		}
	}
	return nil
}

// secretVar reads NAME, or the file NAME_FILE names; setting both is refused.
func secretVar(env func(string) string, name string) (string, error) {
	v, file := env(name), env(name+"_FILE")
	switch {
	case v != "" && file != "":
		return "", &Error{name, fmt.Sprintf("set both %s and %s_FILE; keep one", name, name)}
	case file == "":
		return v, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", &Error{name + "_FILE", fmt.Sprintf("cannot read %q: %v", file, err)}
	}
	return strings.TrimSpace(string(data)), nil
}
