// Package preflight checks, for free, that a name can pass its challenge before an order spends
// any of the CA's budget. First, for every name: its CAA records let the CA issue (caa.go). For
// HTTP-01: the name resolves, and a probe token put into the responder comes back. For DNS-01:
// the name's zone can be found (dns.go).
//
// The probe goes first the CA's route (route.go): to each address the name resolves to, on port
// 80, with the name as Host, following redirects as the CA does. A name whose DNS points at
// another server fails there. Where the network cannot reach its own public address (hairpin NAT),
// that route is inconclusive, and the probe goes through the proxy's internal address instead.
package preflight

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// ErrNoAddress means the name has neither an A nor an AAAA record.
var ErrNoAddress = errors.New("no A or AAAA record")

// Checker runs the checks.
type Checker struct {
	// Resolver looks names up; nil is the system's.
	Resolver *net.Resolver
	// ProxyAddr is host:port where the proxy serves HTTP (port 80 in production).
	ProxyAddr string
	Tokens    webroot.Answers
	Timeout   time.Duration
	// Slots bounds the checks in flight (nil: no bound). At a start every name checks at once, and
	// ten thousand probes at once would be a denial of service on the proxy and the resolver.
	Slots *semaphore.Weighted
	// HTTPPort is the port the CA connects to (80; PREFLIGHT_HTTP_PORT, for test CAs); 0 skips
	// the CA's route and probes through the proxy only.
	HTTPPort int
	// ResolverName says which resolver Resolver asks, for the failure message.
	ResolverName string
	// UsesDNS01 says which names the CA validates by DNS-01 (nil: none); they get DNS's check
	// (dns.go) instead of the probe.
	UsesDNS01 func(name string) bool
	DNS       DNSCheck
	// CAA refuses, before anything else, a name whose CAA records forbid the CA (caa.go).
	CAA CAACheck
}

// direct is the probe's transport: to the proxy's port 80 on the overlay network, never through
// HTTP_PROXY.
var direct = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return t
}()

// Result is what a passed check found worth a warning, and which check decided.
type Result struct {
	HasIPv6 bool // the CA validates over IPv6 first: a wrong AAAA record is a common failure
	// DecidedBy is "ca_route" (the probe came back from the name's own addresses) or "proxy" (the
	// CA's route could not be reached from here; the probe came back through the proxy).
	DecidedBy string
}

// The checks that can decide a pre-flight.
const (
	ByCARoute = "ca_route"
	ByProxy   = "proxy"
)

// NewResolver returns a resolver that asks the DNS server at addr (host:port) over TCP, which
// every server answers and which no truncation can cut short, or the system's resolver when addr
// is empty.
func NewResolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
}

// Check runs the DNS check, then the probe through the proxy.
func (c *Checker) Check(ctx context.Context, name string) (Result, error) {
	if c.Slots != nil {
		if err := c.Slots.Acquire(ctx, 1); err != nil {
			return Result{}, fmt.Errorf("preflight for %s: %w", name, err)
		}
		defer c.Slots.Release(1)
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	dns01 := c.UsesDNS01 != nil && c.UsesDNS01(name)
	method := MethodHTTP01
	if dns01 {
		method = MethodDNS01
	}
	if err := c.CAA.check(ctx, name, method); err != nil {
		return Result{}, err
	}
	if dns01 {
		return Result{DecidedBy: ByDNS}, c.DNS.check(ctx, name)
	}
	var res Result
	resolver := c.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	addrs, err := resolver.LookupIPAddr(ctx, name)
	if err != nil || len(addrs) == 0 {
		var dnsErr *net.DNSError
		if err == nil || errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return res, fmt.Errorf("preflight for %s (resolver %s): %w", name, c.resolverName(), ErrNoAddress)
		}
		return res, fmt.Errorf("preflight for %s: look up (resolver %s): %w", name, c.resolverName(), err)
	}
	for _, a := range addrs {
		if a.IP.To4() == nil {
			res.HasIPv6 = true
		}
	}
	token, keyAuth := randomToken(), randomToken()
	if err := c.Tokens.Publish(token, keyAuth); err != nil {
		return res, fmt.Errorf("preflight for %s: publish the probe's answer: %w", name, err)
	}
	defer c.Tokens.Withdraw(token)
	if c.HTTPPort > 0 {
		switch err := c.caRoute(ctx, name, addrs, token, keyAuth); {
		case err == nil:
			res.DecidedBy = ByCARoute
			return res, nil
		case !errors.Is(err, errInconclusive):
			return res, err
		}
	}
	res.DecidedBy = ByProxy
	return res, c.probe(ctx, name, token, keyAuth)
}

func (c *Checker) resolverName() string {
	if c.ResolverName == "" {
		return "system"
	}
	return c.ResolverName
}

// probe asks the proxy for a fresh token with the name as Host, as the CA's validator will. A
// redirect to the same token path passes: the validator follows it (HTTPS_ONLY, redirectFromDomain).
func (c *Checker) probe(ctx context.Context, name, token, keyAuth string) error {
	path := webroot.PathPrefix + token
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.ProxyAddr+path, nil)
	if err != nil {
		return fmt.Errorf("preflight for %s: %w", name, err)
	}
	req.Host = name
	client := &http.Client{Transport: direct, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("preflight for %s: probe through %s: %w", name, c.ProxyAddr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK && string(body) == keyAuth:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && strings.HasSuffix(resp.Header.Get("Location"), path):
		return nil
	}
	return fmt.Errorf("preflight for %s: probe through %s answered %d, not the token: is the challenge path routed to this service?",
		name, c.ProxyAddr, resp.StatusCode)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
