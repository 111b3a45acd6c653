package proxyapi

import (
	"errors"
	"sort"
	"strings"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// Skipped is a host that DFP serves but that gets no certificate, and why.
type Skipped struct {
	Host    string
	Service string
	Reason  error
}

// ErrTerminatesTLS is why a tcp or sni destination's hosts get no certificate: DFP passes its
// traffic through, and its backend answers TLS with its own.
var ErrTerminatesTLS = errors.New("a tcp or sni service: its backend terminates TLS with its own certificate")

// Extraction is what ExtractNames found in DFP's service list.
type Extraction struct {
	Names   []string // normalised, sorted, unique
	Skipped []Skipped
}

// ExtractNames lists the DNS names that need a certificate: the domains and redirected-from domains
// of every http destination. The hosts of tcp and sni destinations are skipped with
// ErrTerminatesTLS, since their backends terminate TLS.
// With wildcards (DNS-01 is configured), "*.x" and DFP's ".x" give the name "*.x"; without, they
// are skipped with dnsname.ErrWildcard.
func ExtractNames(services map[string]Service, wildcards bool) Extraction {
	seen := map[string]bool{}
	var ex Extraction
	for _, svcName := range sortedKeys(services) {
		for _, dest := range services[svcName].ServiceDest {
			if dest.ReqMode != "" && !strings.EqualFold(dest.ReqMode, "http") {
				for _, host := range dest.ServiceDomain {
					ex.Skipped = append(ex.Skipped, Skipped{Host: host, Service: svcName, Reason: ErrTerminatesTLS})
				}
				continue
			}
			hosts := append(append([]string{}, dest.ServiceDomain...), dest.RedirectFromDomain...)
			for _, host := range hosts {
				name, err := dnsname.NormaliseHost(host, wildcards)
				if err != nil {
					ex.Skipped = append(ex.Skipped, Skipped{Host: host, Service: svcName, Reason: err})
					continue
				}
				if !seen[name] {
					seen[name] = true
					ex.Names = append(ex.Names, name)
				}
			}
		}
	}
	sort.Strings(ex.Names)
	return ex
}

func sortedKeys(m map[string]Service) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
