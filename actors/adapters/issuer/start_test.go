package issuer

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/go-acme/lego/v4/acme"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

func TestRefusedAccountVars(t *testing.T) {
	problem := func(typ string, status int) error {
		return fmt.Errorf("acme account: register: %w", &acme.ProblemDetails{Type: typ, HTTPStatus: status, Detail: "x"})
	}
	cases := []struct {
		name    string
		err     error
		withEAB bool
		want    string
	}{
		{"binding required, none sent", problem("urn:ietf:params:acme:error:externalAccountRequired", 403), false, eabVars},
		{"binding rejected (wrong key or unknown kid)", problem("urn:ietf:params:acme:error:unauthorized", 403), true, eabVars},
		{"binding malformed", problem("urn:ietf:params:acme:error:malformed", 400), true, eabVars},
		{"unauthorized without a binding is not about one", problem("urn:ietf:params:acme:error:unauthorized", 403), false, ""},
		{"contact refused", problem("urn:ietf:params:acme:error:invalidContact", 400), false, emailVars},
		{"contact scheme refused", problem("urn:ietf:params:acme:error:unsupportedContact", 400), true, emailVars},
		{"rate limited: later", problem("urn:ietf:params:acme:error:rateLimited", 429), true, ""},
		{"server error: later", problem("urn:ietf:params:acme:error:serverInternal", 500), true, ""},
		{"bad nonce: lego retries", problem(acme.BadNonceErr, 400), true, ""},
		{"unreachable: later", fmt.Errorf("register: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), true, ""},
		{"nil", nil, true, ""},
	}
	for _, c := range cases {
		if got := refusedAccountVars(c.err, c.withEAB); got != c.want {
			t.Errorf("%s: refusedAccountVars = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestMethodFor(t *testing.T) {
	dns01Names := dnsname.NewPatterns([]string{"vpn.example.com", "*.internal.example.com"})
	cases := []struct {
		name string
		want Method
	}{
		{"www.example.com", HTTP01},
		{"vpn.example.com", DNS01},
		{"a.internal.example.com", DNS01},
		{"internal.example.com", HTTP01},
		{"*.example.com", DNS01}, // a wildcard needs DNS-01 whatever DNS01_DOMAINS says
		{"*.internal.example.com", DNS01},
	}
	for _, c := range cases {
		if got := MethodFor(c.name, dns01Names); got != c.want {
			t.Errorf("MethodFor(%q) = %s, want %s", c.name, got, c.want)
		}
	}
	if got := MethodFor("*.example.com", dnsname.NewPatterns(nil)); got != DNS01 {
		t.Errorf("a wildcard without DNS01_DOMAINS: %s, want dns-01", got)
	}
}
