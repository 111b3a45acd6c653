package preflight

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// errInconclusive means the CA's route could not be tried from here: no resolved address
// accepted a connection. It is not a failure (hairpin NAT is common); the proxy probe decides.
var errInconclusive = errors.New("the name's addresses cannot be reached from here")

// maxRedirects is how many redirects the CA follows (Let's Encrypt: 10).
const maxRedirects = 10

// routeTimeout bounds the probe through one address.
const routeTimeout = 5 * time.Second

// caRoute fetches the probe as the CA would: from each address the name resolves to, on HTTPPort,
// with the name as Host, following redirects (to http or https, the CA does not check the
// certificate) with the name still pinned to that address, and any other host a redirect names
// looked up with the checker's resolver (PREFLIGHT_RESOLVER), as the CA's resolver would. Any address that answers without the
// probe fails the check: the CA may pick that one. It passes when an address answered with the
// probe and none answered wrongly, and is inconclusive when none could be reached.
func (c *Checker) caRoute(ctx context.Context, name string, addrs []net.IPAddr, token, keyAuth string) error {
	reached := false
	for _, a := range addrs {
		err := c.fetchVia(ctx, name, a.IP, token, keyAuth)
		var unreachable *net.OpError
		switch {
		case err == nil:
			reached = true
		case errors.As(err, &unreachable) || errors.Is(err, context.DeadlineExceeded):
			continue
		default:
			return fmt.Errorf("preflight for %s: the CA's route (%s, port %d, resolver %s): %w", name, a.IP, c.HTTPPort, c.resolverName(), err)
		}
	}
	if !reached {
		return errInconclusive
	}
	return nil
}

// fetchVia fetches the probe through ip, and says what was wrong with the answer.
func (c *Checker) fetchVia(ctx context.Context, name string, ip net.IP, token, keyAuth string) error {
	// An address that drops packets must not use up the whole check: the proxy probe may follow.
	ctx, cancel := context.WithTimeout(ctx, routeTimeout)
	defer cancel()
	dialer := net.Dialer{Timeout: routeTimeout / 2}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if port == "80" {
				port = strconv.Itoa(c.HTTPPort) // the CA's port 80 is the proxy's
			}
			target := ip // the name stays on the address being checked
			if !strings.EqualFold(host, name) {
				if target = net.ParseIP(host); target == nil {
					if target, err = c.lookupOne(ctx, host); err != nil {
						var dnsErr *net.DNSError
						if errors.As(err, &dnsErr) && !dnsErr.IsNotFound {
							return nil, &net.OpError{Op: "dial", Net: network, Err: err} // unanswered: inconclusive
						}
						return nil, err // the CA would find no address either
					}
				}
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(target.String(), port))
		},
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: name}, // as the CA: a redirect to https is not verified
		DisableKeepAlives: true,
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected to %s, which the CA does not follow", req.URL.Scheme)
		}
		return nil
	}}
	url := "http://" + net.JoinHostPort(name, "80") + webroot.PathPrefix + token
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK && string(body) == keyAuth {
		return nil
	}
	return fmt.Errorf("answered %d, not the probe token: this address is not routed to this service", resp.StatusCode)
}

// lookupOne resolves a host a redirect names with the checker's resolver: the first address.
func (c *Checker) lookupOne(ctx context.Context, host string) (net.IP, error) {
	resolver := c.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	addrs, err := resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("redirected to %s, which does not resolve (resolver %s): %w", host, c.resolverName(), err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("redirected to %s, which has no address (resolver %s)", host, c.resolverName())
	}
	return addrs[0].IP, nil
}
