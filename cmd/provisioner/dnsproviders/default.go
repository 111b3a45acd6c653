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

// Default is what the default build links: see the package's doc for why these.
var Default = []string{"cloudflare", "route53", "digitalocean", "hetzner", "ovh", "gandiv5", "godaddy", "namecheap", "linode", "duckdns", "porkbun", "desec", "inwx", "ionos", "namesilo", "vultr", "dnsimple", "netcup", "transip", "rfc2136", "httpreq", "exec"}

// New builds the provider lego knows by code, reading its own variables (and their _FILE
// variants) as lego's CLI does. A code this build lacks is an error naming the image that has it.
func New(code string) (challenge.Provider, error) {
	switch code {
	case "cloudflare":
		return cloudflare.NewDNSProvider()
	case "route53":
		return route53.NewDNSProvider()
	case "digitalocean":
		return digitalocean.NewDNSProvider()
	case "hetzner":
		return hetzner.NewDNSProvider()
	case "ovh":
		return ovh.NewDNSProvider()
	case "gandiv5":
		return gandiv5.NewDNSProvider()
	case "godaddy":
		return godaddy.NewDNSProvider()
	case "namecheap":
		return namecheap.NewDNSProvider()
	case "linode":
		return linode.NewDNSProvider()
	case "duckdns":
		return duckdns.NewDNSProvider()
	case "porkbun":
		return porkbun.NewDNSProvider()
	case "desec":
		return desec.NewDNSProvider()
	case "inwx":
		return inwx.NewDNSProvider()
	case "ionos":
		return ionos.NewDNSProvider()
	case "namesilo":
		return namesilo.NewDNSProvider()
	case "vultr":
		return vultr.NewDNSProvider()
	case "dnsimple":
		return dnsimple.NewDNSProvider()
	case "netcup":
		return netcup.NewDNSProvider()
	case "transip":
		return transip.NewDNSProvider()
	case "rfc2136":
		return rfc2136.NewDNSProvider()
	case "httpreq":
		return httpreq.NewDNSProvider()
	case "exec":
		return exec.NewDNSProvider()
	}
	return nil, fmt.Errorf("%q is not in this image, which links the providers most people use (%s): use the image with every lego provider (built with TAGS=allproviders)", code, strings.Join(Default, ", "))
}
