package preflight

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startZoneServer serves DNS over UDP on loopback: a SOA for zone "ok.test.", SERVFAIL for
// everything under "broken.test.", and empty NOERROR answers otherwise (no SOA anywhere else).
func startZoneServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		switch {
		case strings.HasSuffix(q.Name, "broken.test."):
			m.Rcode = dns.RcodeServerFailure
		case q.Qtype == dns.TypeSOA && q.Name == "ok.test.":
			m.Answer = append(m.Answer, &dns.SOA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
				Ns: "ns.ok.test.", Mbox: "hostmaster.ok.test.", Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 60})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSCheck(t *testing.T) {
	addr := startZoneServer(t)
	cases := []struct {
		name     string
		skipZone bool
		wantErr  string
	}{
		{"www.ok.test", false, ""},
		{"*.ok.test", false, ""}, // the wildcard's zone is its base's
		{"deep.sub.ok.test", false, ""},
		{"www.nozone.test", false, "no zone found for www.nozone.test"},
		{"www.broken.test", false, "no zone found"},
		// Without the zone check (DNS_PROPAGATION_DISABLE_ANS), an answer is enough...
		{"www.nozone2.test", true, ""},
		{"*.nozone3.test", true, ""},
		// ...but not SERVFAIL.
		{"*.broken.test", true, "SERVFAIL"},
	}
	for _, c := range cases {
		d := DNSCheck{Resolvers: []string{addr}, SkipZone: c.skipZone}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := d.check(ctx, c.name)
		cancel()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("check(%q, skipZone %v) = %v, want %q", c.name, c.skipZone, err, c.wantErr)
		}
	}
}

// A name the CA validates by DNS-01 gets the DNS check, not the HTTP probe: with no responder and
// no proxy, it still passes when its zone is found.
func TestCheckSendsDNS01NamesToTheDNSCheck(t *testing.T) {
	addr := startZoneServer(t)
	c := &Checker{ProxyAddr: "127.0.0.1:1", Timeout: 10 * time.Second,
		UsesDNS01: func(name string) bool { return strings.HasPrefix(name, "*.") },
		DNS:       DNSCheck{Resolvers: []string{addr}}}
	res, err := c.Check(context.Background(), "*.ok.test")
	if err != nil || res.DecidedBy != ByDNS {
		t.Fatalf("Check = %+v, %v; want decided by dns", res, err)
	}
	if _, err := c.Check(context.Background(), "*.broken.test"); err == nil {
		t.Fatal("a wildcard whose zone cannot be found passed")
	}
}
