package preflight

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/challenge/dns01"
	"github.com/miekg/dns"
)

// ByDNS says the DNS-01 check decided: the name's zone was found (or, without the zone check, the
// resolvers answered for its challenge record).
const ByDNS = "dns"

// DNSCheck is the pre-flight of names the CA validates by DNS-01. Nothing is written: lego's
// providers offer no way to test credentials without a write, and a write probe at
// "_acme-challenge" could race a real order's record on providers that clean up by name.
type DNSCheck struct {
	// Resolvers are lego's (DNS_RESOLVERS); nil: the system's.
	Resolvers []string
	// SkipZone (DNS_PROPAGATION_DISABLE_ANS): lego will not ask the zone's servers, and test DNS
	// servers answer no SOA, so only an answer for the challenge record is required.
	SkipZone bool
}

// check looks, for free, for what DNS-01 needs before an order is spent on name: the zone the
// provider must write into, found as lego finds it.
func (d *DNSCheck) check(ctx context.Context, name string) error {
	base := strings.TrimPrefix(name, "*.")
	if !d.SkipZone {
		if err := d.findZone(ctx, dns01.ToFqdn(base)); err != nil {
			return fmt.Errorf("preflight for %s: DNS-01: no zone found for %s (resolvers %s): %w", name, base, d.resolverNames(), err)
		}
		return nil
	}
	if err := d.answers(ctx, "_acme-challenge."+dns01.ToFqdn(base)); err != nil {
		return fmt.Errorf("preflight for %s: DNS-01: no resolver answered for its challenge record: %w", name, err)
	}
	return nil
}

// findZone is lego's zone lookup (the SOA, walking up the labels), bounded by ctx: lego's own
// takes no context.
func (d *DNSCheck) findZone(ctx context.Context, fqdn string) error {
	done := make(chan error, 1)
	go func() {
		var err error
		if len(d.Resolvers) > 0 {
			_, err = dns01.FindZoneByFqdnCustom(fqdn, d.Resolvers)
		} else {
			_, err = dns01.FindZoneByFqdn(fqdn)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// answers asks each resolver for the TXT record at fqdn: one NOERROR or NXDOMAIN answer passes
// (the record need not exist yet); SERVFAIL, REFUSED and silence fail. The error is the last one.
func (d *DNSCheck) answers(ctx context.Context, fqdn string) error {
	servers := d.Resolvers
	if len(servers) == 0 {
		servers = systemServers()
	}
	msg := new(dns.Msg)
	msg.SetQuestion(fqdn, dns.TypeTXT)
	client := &dns.Client{Timeout: 5 * time.Second}
	var last error = fmt.Errorf("no resolver configured")
	for _, s := range servers {
		in, _, err := client.ExchangeContext(ctx, msg, s)
		switch {
		case err != nil:
			last = fmt.Errorf("%s: %w", s, err)
		case in.Rcode == dns.RcodeSuccess || in.Rcode == dns.RcodeNameError:
			return nil
		default:
			last = fmt.Errorf("%s answered %s", s, dns.RcodeToString[in.Rcode])
		}
	}
	return last
}

func (d *DNSCheck) resolverNames() string {
	if len(d.Resolvers) == 0 {
		return "system"
	}
	return strings.Join(d.Resolvers, ",")
}
