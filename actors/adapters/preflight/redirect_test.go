package preflight

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// zone serves A records over TCP (as NewResolver asks) for names; anything else is NXDOMAIN.
func zone(t *testing.T, names map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		ip, ok := names[strings.TrimSuffix(q.Question[0].Name, ".")]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Question[0].Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// A name whose address redirects to another host that only PREFLIGHT_RESOLVER knows (as a
// redirectFromDomain service does): the redirect is followed with that resolver, so the CA's route
// decides, and a redirect to a host nobody resolves fails the check instead of blaming hairpin NAT.
func TestRedirectsAreResolvedWithTheCheckersResolver(t *testing.T) {
	tokens := webroot.NewTokens()
	responder := webroot.Handler(tokens)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var redirected atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		switch host {
		case "www.redirect.test":
			redirected.Add(1)
			http.Redirect(w, r, "http://redirect.test"+r.URL.Path, http.StatusMovedPermanently)
		case "lost.redirect.test":
			http.Redirect(w, r, "http://nowhere.redirect.test"+r.URL.Path, http.StatusMovedPermanently)
		default:
			responder.ServeHTTP(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	resolver := zone(t, map[string]string{"www.redirect.test": "127.0.0.1", "redirect.test": "127.0.0.1", "lost.redirect.test": "127.0.0.1"})
	chk := &Checker{Resolver: NewResolver(resolver), ResolverName: resolver, ProxyAddr: proxy(t, responder.ServeHTTP),
		Tokens: tokens, Timeout: 5 * time.Second, HTTPPort: ln.Addr().(*net.TCPAddr).Port}

	res, err := chk.Check(t.Context(), "www.redirect.test")
	if err != nil || res.DecidedBy != ByCARoute {
		t.Fatalf("redirected to a host the resolver knows: %+v, %v; want decided by the CA's route", res, err)
	}
	if redirected.Load() != 1 {
		t.Fatalf("the name's address was asked %d times, want once (then redirected)", redirected.Load())
	}
	if _, err := chk.Check(t.Context(), "lost.redirect.test"); err == nil || !strings.Contains(err.Error(), "nowhere.redirect.test, which does not resolve") {
		t.Fatalf("redirected to a host nobody resolves: %v, want the check failed naming it", err)
	}
}
