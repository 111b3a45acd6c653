//go:build allproviders

package dnsproviders

import (
	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/providers/dns"
)

// Default is empty in this build: it links every provider.
var Default []string

// New builds any provider lego has by its code, reading its own variables (and their _FILE
// variants) as lego's CLI does.
func New(code string) (challenge.Provider, error) {
	return dns.NewDNSChallengeProviderByName(code)
}
