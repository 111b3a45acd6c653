//go:build !allproviders

package dnsproviders

import (
	"fmt"
	"strings"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/providers/dns/cloudflare"
	"github.com/go-acme/lego/v4/providers/dns/desec"
	"github.com/go-acme/lego/v4/providers/dns/digitalocean"
	"github.com/go-acme/lego/v4/providers/dns/dnsimple"
	"github.com/go-acme/lego/v4/providers/dns/duckdns"
	"github.com/go-acme/lego/v4/providers/dns/exec"
	"github.com/go-acme/lego/v4/providers/dns/gandiv5"
	"github.com/go-acme/lego/v4/providers/dns/godaddy"
	"github.com/go-acme/lego/v4/providers/dns/hetzner"
	"github.com/go-acme/lego/v4/providers/dns/httpreq"
	"github.com/go-acme/lego/v4/providers/dns/inwx"
	"github.com/go-acme/lego/v4/providers/dns/ionos"
	"github.com/go-acme/lego/v4/providers/dns/linode"
	"github.com/go-acme/lego/v4/providers/dns/namecheap"
	"github.com/go-acme/lego/v4/providers/dns/namesilo"
	"github.com/go-acme/lego/v4/providers/dns/netcup"
	"github.com/go-acme/lego/v4/providers/dns/ovh"
	"github.com/go-acme/lego/v4/providers/dns/porkbun"
	"github.com/go-acme/lego/v4/providers/dns/rfc2136"
	"github.com/go-acme/lego/v4/providers/dns/route53"
	"github.com/go-acme/lego/v4/providers/dns/transip"
	"github.com/go-acme/lego/v4/providers/dns/vultr"
)

// providers are what the default build links, in the order the error lists them: see the
// package's doc for why these.
var providers = []struct {
	code string
	new  func() (challenge.Provider, error)
}{
	{"cloudflare", func() (challenge.Provider, error) { return cloudflare.NewDNSProvider() }},
	{"route53", func() (challenge.Provider, error) { return route53.NewDNSProvider() }},
	{"digitalocean", func() (challenge.Provider, error) { return digitalocean.NewDNSProvider() }},
	{"hetzner", func() (challenge.Provider, error) { return hetzner.NewDNSProvider() }},
	{"ovh", func() (challenge.Provider, error) { return ovh.NewDNSProvider() }},
	{"gandiv5", func() (challenge.Provider, error) { return gandiv5.NewDNSProvider() }},
	{"godaddy", func() (challenge.Provider, error) { return godaddy.NewDNSProvider() }},
	{"namecheap", func() (challenge.Provider, error) { return namecheap.NewDNSProvider() }},
	{"linode", func() (challenge.Provider, error) { return linode.NewDNSProvider() }},
	{"duckdns", func() (challenge.Provider, error) { return duckdns.NewDNSProvider() }},
	{"porkbun", func() (challenge.Provider, error) { return porkbun.NewDNSProvider() }},
	{"desec", func() (challenge.Provider, error) { return desec.NewDNSProvider() }},
	{"inwx", func() (challenge.Provider, error) { return inwx.NewDNSProvider() }},
	{"ionos", func() (challenge.Provider, error) { return ionos.NewDNSProvider() }},
	{"namesilo", func() (challenge.Provider, error) { return namesilo.NewDNSProvider() }},
	{"vultr", func() (challenge.Provider, error) { return vultr.NewDNSProvider() }},
	{"dnsimple", func() (challenge.Provider, error) { return dnsimple.NewDNSProvider() }},
	{"netcup", func() (challenge.Provider, error) { return netcup.NewDNSProvider() }},
	{"transip", func() (challenge.Provider, error) { return transip.NewDNSProvider() }},
	{"rfc2136", func() (challenge.Provider, error) { return rfc2136.NewDNSProvider() }},
	{"httpreq", func() (challenge.Provider, error) { return httpreq.NewDNSProvider() }},
	{"exec", func() (challenge.Provider, error) { return exec.NewDNSProvider() }},
}

// Default is the codes of the providers the default build links.
var Default = codes()

func codes() []string {
	out := make([]string, len(providers))
	for i, p := range providers {
		out[i] = p.code
	}
	return out
}

// New builds the provider lego knows by code, reading its own variables (and their _FILE
// variants) as lego's CLI does. A code this build lacks is an error naming the image that has it.
func New(code string) (challenge.Provider, error) {
	for _, p := range providers {
		if p.code == code {
			return p.new()
		}
	}
	return nil, fmt.Errorf("%q is not in this image, which links the providers most people use (%s): use the image with every lego provider (built with TAGS=allproviders)", code, strings.Join(Default, ", "))
}
