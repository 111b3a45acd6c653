//go:build slim

package main

import (
	"fmt"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/providers/dns/exec"
	"github.com/go-acme/lego/v4/providers/dns/httpreq"
	"github.com/go-acme/lego/v4/providers/dns/rfc2136"
)

// dnsProvider, in the slim build, knows the providers that need no vendor SDK: rfc2136 (BIND,
// PowerDNS, Knot, Windows DNS...), httpreq (a webhook of your own) and exec (a script). They read
// their variables as lego's CLI does.
func dnsProvider(code string) (challenge.Provider, error) {
	switch code {
	case "rfc2136":
		return rfc2136.NewDNSProvider()
	case "httpreq":
		return httpreq.NewDNSProvider()
	case "exec":
		return exec.NewDNSProvider()
	}
	return nil, fmt.Errorf("%q is not in this slim build (rfc2136, httpreq, exec); use the full image for every lego provider", code)
}
