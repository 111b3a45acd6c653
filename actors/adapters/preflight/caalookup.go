package preflight

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// CAACheck looks up the CAA records that govern a name, and tells whether they let the CA issue.
type CAACheck struct {
	// Servers are host:port of the DNS servers asked, in turn (nil: /etc/resolv.conf's); TCP asks
	// them over TCP (PREFLIGHT_RESOLVER), else UDP with TCP when an answer is truncated.
	Servers []string
	TCP     bool
	// Issuer is who the CA is (nil: no CAA check). An error, or a CA whose directory names no CAA
	// identity, leaves the check to the CA. It may block: the check waits for it no longer than
	// its own deadline.
	Issuer func() (CAAIssuer, error)
	// IssuerWait is how long a check waits for Issuer (0: 5 s).
	IssuerWait time.Duration
}

// errCAAUnanswered is a lookup that no server could answer at all (REFUSED, NOTIMP, silence):
// nothing is known, and the CA's own lookup decides.
var errCAAUnanswered = errors.New("no server answered the CAA lookup")

// ErrCAALookupFailed is a server's SERVFAIL for a CAA lookup: the CA refuses to issue when it
// cannot look CAA up, and a DNSSEC validation failure is the most common cause.
var ErrCAALookupFailed = errors.New("CAA lookup failed")

// check refuses name when its CAA records forbid the CA, or cannot be looked up (SERVFAIL, of which
// a DNSSEC failure is said as such). A lookup nobody answers, or a CA with no CAA identity, passes.
func (c *CAACheck) check(ctx context.Context, name, method string) error {
	if c.Issuer == nil {
		return nil
	}
	iss, err := c.issuer(ctx)
	if err != nil || len(iss.Domains) == 0 {
		return nil
	}
	rrset, err := c.relevantSet(ctx, strings.TrimPrefix(name, "*."))
	switch {
	case errors.Is(err, errCAAUnanswered) || errors.Is(err, context.DeadlineExceeded):
		return nil
	case err != nil:
		return fmt.Errorf("preflight for %s: %w", name, err)
	}
	if err := caaVerdict(name, rrset, iss, method); err != nil {
		return fmt.Errorf("preflight for %s: %w", name, err)
	}
	return nil
}

// defaultIssuerWait bounds the wait for the CA's identity, so that a CA out of reach leaves the
// rest of the pre-flight its time (and CAA to the CA) instead of failing it.
const defaultIssuerWait = 5 * time.Second

// issuer asks Issuer, bounded by ctx and IssuerWait: the first ask fetches the CA's directory,
// which takes no context.
func (c *CAACheck) issuer(ctx context.Context) (CAAIssuer, error) {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.IssuerWait, defaultIssuerWait))
	defer cancel()
	type answer struct {
		iss CAAIssuer
		err error
	}
	done := make(chan answer, 1)
	go func() {
		iss, err := c.Issuer()
		done <- answer{iss, err}
	}()
	select {
	case a := <-done:
		return a.iss, a.err
	case <-ctx.Done():
		return CAAIssuer{}, ctx.Err()
	}
}

// relevantSet climbs from fqdn towards the root, as RFC 8659 §3 says, and returns the first
// non-empty CAA set found (nil: none up to the top-level domain; the root is not asked).
func (c *CAACheck) relevantSet(ctx context.Context, name string) ([]*dns.CAA, error) {
	servers := c.Servers
	if len(servers) == 0 {
		servers = systemServers() // read once per name, not once per label
	}
	labels := dns.SplitDomainName(name)
	for i := range labels {
		fqdn := dns.Fqdn(strings.Join(labels[i:], "."))
		rrset, err := c.lookup(ctx, fqdn, servers)
		if err != nil || len(rrset) > 0 {
			return rrset, err
		}
	}
	return nil, nil
}

// lookup asks the servers in turn for fqdn's CAA records, with DNSSEC asked for: the answer's CAA
// records (after any CNAME the resolver followed) on NOERROR, none on NXDOMAIN.
func (c *CAACheck) lookup(ctx context.Context, fqdn string, servers []string) ([]*dns.CAA, error) {
	msg := new(dns.Msg)
	msg.SetQuestion(fqdn, dns.TypeCAA)
	msg.SetEdns0(4096, true)
	last := errCAAUnanswered
	for _, s := range servers {
		in, err := c.exchange(ctx, msg, s)
		switch {
		case err != nil:
			last = fmt.Errorf("%w: %s: %w", errCAAUnanswered, s, err)
			if ctx.Err() != nil {
				return nil, last
			}
			continue
		case in.Rcode == dns.RcodeSuccess || in.Rcode == dns.RcodeNameError:
			var rrset []*dns.CAA
			for _, rr := range in.Answer {
				if caa, ok := rr.(*dns.CAA); ok {
					rrset = append(rrset, caa)
				}
			}
			return rrset, nil
		case in.Rcode == dns.RcodeServerFailure:
			return nil, servfail(fqdn, s, in)
		default:
			last = fmt.Errorf("%w: %s answered %s", errCAAUnanswered, s, dns.RcodeToString[in.Rcode])
		}
	}
	return nil, last
}

func (c *CAACheck) exchange(ctx context.Context, msg *dns.Msg, server string) (*dns.Msg, error) {
	client := &dns.Client{Timeout: 5 * time.Second}
	if c.TCP {
		client.Net = "tcp"
	}
	in, _, err := client.ExchangeContext(ctx, msg, server)
	if err == nil && in.Truncated && !c.TCP {
		client.Net = "tcp"
		in, _, err = client.ExchangeContext(ctx, msg, server)
	}
	return in, err
}

// servfail says why a server could not answer: DNSSEC's extended errors (RFC 8914, codes 1 to 12)
// are named, since a broken signature is the usual cause and its fix is at the zone.
func servfail(fqdn, server string, in *dns.Msg) error {
	if opt := in.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if ede, ok := o.(*dns.EDNS0_EDE); ok && ede.InfoCode >= dns.ExtendedErrorCodeUnsupportedDNSKEYAlgorithm &&
				ede.InfoCode <= dns.ExtendedErrorCodeNSECMissing {
				return fmt.Errorf("%w at %s: DNSSEC validation failed (%s, from %s); the CA refuses a name whose CAA it cannot look up",
					ErrCAALookupFailed, fqdn, dns.ExtendedErrorCodeToString[ede.InfoCode], server)
			}
		}
	}
	return fmt.Errorf("%w at %s: %s answered SERVFAIL (often a DNSSEC failure, or an authoritative server that does not answer CAA); the CA refuses a name whose CAA it cannot look up",
		ErrCAALookupFailed, fqdn, server)
}

// systemServers is /etc/resolv.conf's servers as host:port (nil when it cannot be read), for the
// lookups that ask a DNS server directly (CAA, and DNS-01's record check).
func systemServers() []string {
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(conf.Servers))
	for _, s := range conf.Servers {
		out = append(out, net.JoinHostPort(s, conf.Port))
	}
	return out
}
