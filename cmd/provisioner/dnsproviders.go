//go:build !slim

package main

import (
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/providers/dns"
)

// dnsProvider builds a DNS-01 provider by lego's code for it ("cloudflare", "route53", ...), every
// provider lego has. It reads that provider's own variables (and their _FILE variants) as lego's
// CLI does. It lives in main so that only the binary links every provider's SDK: the packages'
// tests do not. The slim build (-tags slim) keeps three providers that need no SDK.
func dnsProvider(code string) (challenge.Provider, error) {
	return dns.NewDNSChallengeProviderByName(code)
}
