package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

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
	table, err := limits.TableNamed(c.RateLimits)
	if err != nil {
		return &Error{"RATE_LIMITS", err.Error()}
	}
	c.Limits = table.WithMargin(c.RateLimitMargin)
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
