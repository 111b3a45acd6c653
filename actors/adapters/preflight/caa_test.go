package preflight

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dfp-letsencrypt/provisioner/webroot"
)

func caa(owner string, flag uint8, tag, value string) *dns.CAA {
	return &dns.CAA{Hdr: dns.RR_Header{Name: dns.Fqdn(owner), Rrtype: dns.TypeCAA, Class: dns.ClassINET, Ttl: 60},
		Flag: flag, Tag: tag, Value: value}
}

var letsEncrypt = CAAIssuer{Domains: []string{"letsencrypt.org"}, AccountURI: "https://acme.test/acct/1"}

func TestCAAVerdict(t *testing.T) {
	cases := []struct {
		what    string
		name    string
		rrset   []*dns.CAA
		method  string
		wantErr string // "" allows
	}{
		{"no record", "a.test", nil, MethodHTTP01, ""},
		{"only iodef", "a.test", []*dns.CAA{caa("a.test", 0, "iodef", "mailto:x@a.test")}, MethodHTTP01, ""},
		{"the CA named", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org")}, MethodHTTP01, ""},
		{"the CA named in another case, with spaces", "a.test", []*dns.CAA{caa("a.test", 0, "ISSUE", " LetsEncrypt.org ")}, MethodHTTP01, ""},
		{"another CA", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "sectigo.com")}, MethodHTTP01,
			`a.test. CAA 0 issue "sectigo.com" (issue allows only sectigo.com; this CA is letsencrypt.org)`},
		{"one of two CAs", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "sectigo.com"), caa("a.test", 0, "issue", "letsencrypt.org")}, MethodHTTP01, ""},
		{"no CA at all", "a.test", []*dns.CAA{caa("a.test", 0, "issue", ";")}, MethodHTTP01, `allows only ";" (no CA)`},
		{"this account", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org; accounturi=https://acme.test/acct/1")}, MethodHTTP01, ""},
		{"another account", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org; accounturi=https://acme.test/acct/2")}, MethodHTTP01,
			"it names another ACME account; this one is https://acme.test/acct/1"},
		{"another account beside a plain grant", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org; accounturi=https://acme.test/acct/2"),
			caa("a.test", 0, "issue", "letsencrypt.org")}, MethodHTTP01, ""},
		{"this method", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org; validationmethods=tls-alpn-01,http-01")}, MethodHTTP01, ""},
		{"another method", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org;validationmethods=dns-01")}, MethodHTTP01,
			"it allows only dns-01; this name validates by http-01"},
		{"unknown parameter ignored", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org; policy=ev")}, MethodHTTP01, ""},
		{"malformed value", "a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org; accounturi")}, MethodHTTP01, "(malformed)"},
		{"critical unknown tag", "a.test", []*dns.CAA{caa("a.test", 128, "tbs", "x"), caa("a.test", 0, "issue", "letsencrypt.org")}, MethodHTTP01,
			"a critical property the CA does not know"},
		{"non-critical unknown tag", "a.test", []*dns.CAA{caa("a.test", 0, "tbs", "x"), caa("a.test", 0, "issue", "letsencrypt.org")}, MethodHTTP01, ""},
		{"wildcard governed by issuewild", "*.a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org"), caa("a.test", 0, "issuewild", ";")}, MethodDNS01,
			"issuewild allows only"},
		{"wildcard without issuewild uses issue", "*.a.test", []*dns.CAA{caa("a.test", 0, "issue", "letsencrypt.org")}, MethodDNS01, ""},
		{"issuewild does not govern a plain name", "a.test", []*dns.CAA{caa("a.test", 0, "issuewild", ";")}, MethodHTTP01, ""},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			err := caaVerdict(c.name, c.rrset, letsEncrypt, c.method)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("forbidden: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, c.wantErr)
			}
			var f *ForbiddenByCAA
			if err != nil && !errors.As(err, &f) {
				t.Fatalf("%v is not a *ForbiddenByCAA", err)
			}
		})
	}
}

// caaServer is a DNS server in the test: records by owner; servfail names answer SERVFAIL, with
// extended error code ede when it is not 0; refused names answer REFUSED.
type caaServer struct {
	records  map[string][]*dns.CAA
	servfail map[string]uint16
	refused  map[string]bool

	mu    sync.Mutex
	asked []string
}

func (s *caaServer) questions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

func (s *caaServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	s.mu.Lock()
	s.asked = append(s.asked, q.Name)
	s.mu.Unlock()
	switch ede, fail := s.servfail[q.Name]; {
	case fail:
		m.Rcode = dns.RcodeServerFailure
		if ede != 0 {
			m.SetEdns0(4096, true)
			opt := m.IsEdns0()
			opt.Option = append(opt.Option, &dns.EDNS0_EDE{InfoCode: ede})
		}
	case s.refused[q.Name]:
		m.Rcode = dns.RcodeRefused
	default:
		for _, r := range s.records[q.Name] {
			m.Answer = append(m.Answer, r)
		}
	}
	_ = w.WriteMsg(m)
}

func startCAAServer(t *testing.T, s *caaServer) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// The check climbs from the name to its parents and stops at the first set it finds; what it
// refuses says which record, and a DNSSEC failure is said as such.
func TestCAACheckThroughADNSServer(t *testing.T) {
	s := &caaServer{
		records: map[string][]*dns.CAA{
			"allow.test.":      {caa("allow.test", 0, "issue", "letsencrypt.org")},
			"deny.allow.test.": {caa("deny.allow.test", 0, "issue", "sectigo.com")},
			"forbid.test.":     {caa("forbid.test", 0, "issue", "sectigo.com")},
			"account.test.":    {caa("account.test", 0, "issue", "letsencrypt.org; accounturi=https://acme.test/acct/2")},
			"parent.test.":     {caa("parent.test", 0, "issue", ";")},
			"dns.test.":        {caa("dns.test", 0, "issue", "letsencrypt.org; validationmethods=dns-01")},
		},
		servfail: map[string]uint16{"bogus.test.": dns.ExtendedErrorCodeDNSBogus, "broken.test.": 0},
		refused:  map[string]bool{"refused.test.": true},
	}
	check := CAACheck{Servers: []string{startCAAServer(t, s)}, Issuer: func() (CAAIssuer, error) { return letsEncrypt, nil }}
	cases := []struct {
		name, method string
		wantErr      string
		wantAsked    []string
	}{
		{"allow.test", MethodHTTP01, "", []string{"allow.test."}},
		{"www.allow.test", MethodHTTP01, "", []string{"www.allow.test.", "allow.test."}},
		{"deny.allow.test", MethodHTTP01, `deny.allow.test. CAA 0 issue "sectigo.com"`, []string{"deny.allow.test."}},
		{"forbid.test", MethodHTTP01, `CAA forbids the CA for forbid.test: forbid.test. CAA 0 issue "sectigo.com"`, nil},
		{"account.test", MethodHTTP01, "names another ACME account", nil},
		{"a.b.parent.test", MethodHTTP01, `parent.test. CAA 0 issue ";"`, []string{"a.b.parent.test.", "b.parent.test.", "parent.test."}},
		{"*.parent.test", MethodDNS01, `parent.test. CAA 0 issue ";"`, []string{"parent.test."}},
		{"dns.test", MethodHTTP01, "allows only dns-01; this name validates by http-01", nil},
		{"dns.test", MethodDNS01, "", nil},
		{"none.test", MethodHTTP01, "", []string{"none.test.", "test."}},
		{"bogus.test", MethodHTTP01, "DNSSEC validation failed (DNSSEC Bogus", nil},
		{"www.broken.test", MethodHTTP01, "answered SERVFAIL", []string{"www.broken.test.", "broken.test."}},
		{"refused.test", MethodHTTP01, "", []string{"refused.test."}}, // nothing known: the CA decides
	}
	for _, c := range cases {
		t.Run(c.name+" "+c.method, func(t *testing.T) {
			s.mu.Lock()
			s.asked = nil
			s.mu.Unlock()
			err := check.check(context.Background(), c.name, c.method)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, c.wantErr)
			}
			if asked := s.questions(); c.wantAsked != nil && strings.Join(asked, " ") != strings.Join(c.wantAsked, " ") {
				t.Errorf("asked %v, want %v", asked, c.wantAsked)
			}
		})
	}
}

// A CA whose directory names no CAA identity, or that cannot be asked, leaves CAA to the CA; the
// checker runs CAA before anything else, so a forbidden name publishes no probe.
func TestCAAComesFirstAndNeedsTheCAsIdentity(t *testing.T) {
	s := &caaServer{records: map[string][]*dns.CAA{"forbid.test.": {caa("forbid.test", 0, "issue", "sectigo.com")}}}
	server := startCAAServer(t, s)
	for _, iss := range []func() (CAAIssuer, error){
		func() (CAAIssuer, error) { return CAAIssuer{}, nil },
		func() (CAAIssuer, error) { return CAAIssuer{}, errors.New("directory unreachable") },
	} {
		c := CAACheck{Servers: []string{server}, Issuer: iss}
		if err := c.check(context.Background(), "forbid.test", MethodHTTP01); err != nil {
			t.Errorf("without the CA's identity: %v", err)
		}
	}
	// A CA that does not answer holds the check no longer than IssuerWait, and leaves the rest of
	// the pre-flight its time.
	blocked := make(chan struct{})
	defer close(blocked)
	slow := CAACheck{Servers: []string{server}, IssuerWait: 50 * time.Millisecond,
		Issuer: func() (CAAIssuer, error) { <-blocked; return letsEncrypt, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := slow.check(ctx, "forbid.test", MethodHTTP01); err != nil || ctx.Err() != nil {
		t.Errorf("with the CA out of reach: %v (the pre-flight's own deadline: %v)", err, ctx.Err())
	}
	tokens := &countingTokens{Answers: webroot.NewTokens()}
	checker := &Checker{ProxyAddr: "127.0.0.1:1", Tokens: tokens, Timeout: 5 * time.Second,
		CAA: CAACheck{Servers: []string{server}, Issuer: func() (CAAIssuer, error) { return letsEncrypt, nil }}}
	_, err := checker.Check(context.Background(), "forbid.test")
	var f *ForbiddenByCAA
	if !errors.As(err, &f) || f.Name != "forbid.test" {
		t.Fatalf("got %v, want the CAA refusal", err)
	}
	if tokens.published != 0 {
		t.Errorf("%d probe tokens published for a name CAA forbids", tokens.published)
	}
}

// countingTokens counts the probe tokens published.
type countingTokens struct {
	webroot.Answers
	published int
}

func (c *countingTokens) Publish(token, keyAuth string) error {
	c.published++
	return c.Answers.Publish(token, keyAuth)
}
