package preflight

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// CAAIssuer is who the CA is to a CAA record: the issuer domains from its directory's
// meta.caaIdentities, and the URI of the account that orders (RFC 8657's accounturi).
type CAAIssuer struct {
	Domains    []string
	AccountURI string
}

// Validation methods as CAA's validationmethods parameter names them (RFC 8657).
const (
	MethodHTTP01 = "http-01"
	MethodDNS01  = "dns-01"
)

// ForbiddenByCAA is a name the CA would refuse for its CAA records: Record is the one that decides
// (or the relevant set's issuers, when none names the CA), Why says how.
type ForbiddenByCAA struct {
	Name, Record, Why string
}

func (f *ForbiddenByCAA) Error() string {
	return fmt.Sprintf("CAA forbids the CA for %s: %s (%s)", f.Name, f.Record, f.Why)
}

// knownCAATags are the tags the CA understands; a critical record with any other forbids issuance
// (RFC 8659 §4.5).
var knownCAATags = map[string]bool{"issue": true, "issuewild": true, "iodef": true, "issuemail": true, "issuevmc": true}

// caaVerdict decides whether the relevant CAA set (the first non-empty one found climbing from the
// name, rrset) lets the CA issue for name by method, as RFC 8659 §4.2-4.3 and RFC 8657 say: nil
// when it does, a *ForbiddenByCAA when not. An empty set, or one with no property that restricts
// this kind of name (only iodef, say), allows any CA.
func caaVerdict(name string, rrset []*dns.CAA, iss CAAIssuer, method string) error {
	for _, r := range rrset {
		if r.Flag&128 != 0 && !knownCAATags[strings.ToLower(r.Tag)] {
			return &ForbiddenByCAA{Name: name, Record: caaText(r), Why: "a critical property the CA does not know"}
		}
	}
	tag := "issue"
	if strings.HasPrefix(name, "*.") && hasTag(rrset, "issuewild") {
		tag = "issuewild"
	}
	var relevant []*dns.CAA
	for _, r := range rrset {
		if strings.EqualFold(r.Tag, tag) {
			relevant = append(relevant, r)
		}
	}
	if len(relevant) == 0 {
		return nil
	}
	var closest *ForbiddenByCAA // a record that names the CA but not this account or method
	var issuers []string
	for _, r := range relevant {
		domain, params, ok := parseIssueValue(r.Value)
		switch {
		case !ok:
			issuers = append(issuers, fmt.Sprintf("%q (malformed)", r.Value))
			continue
		case domain == "":
			issuers = append(issuers, `";" (no CA)`)
			continue
		case !containsFold(iss.Domains, domain):
			issuers = append(issuers, domain)
			continue
		}
		why := ""
		if uri, set := params["accounturi"]; set && uri != iss.AccountURI {
			why = "it names another ACME account; this one is " + cmp.Or(iss.AccountURI, "not registered yet")
		} else if methods, set := params["validationmethods"]; set && !containsFold(strings.Split(methods, ","), method) {
			why = "it allows only " + methods + "; this name validates by " + method
		}
		if why == "" {
			return nil
		}
		if closest == nil {
			closest = &ForbiddenByCAA{Name: name, Record: caaText(r), Why: why}
		}
	}
	if closest != nil {
		return closest
	}
	return &ForbiddenByCAA{Name: name, Record: caaText(relevant[0]),
		Why: fmt.Sprintf("%s allows only %s; this CA is %s", tag, strings.Join(issuers, ", "), strings.Join(iss.Domains, ", "))}
}

// parseIssueValue reads an issue or issuewild value: an optional issuer domain, then
// "; key=value" parameters. ok is false when the value does not parse; the CA then takes it as
// naming no CA it knows.
func parseIssueValue(v string) (domain string, params map[string]string, ok bool) {
	head, rest, hasParams := strings.Cut(v, ";")
	domain = strings.TrimSpace(head)
	if strings.ContainsAny(domain, " \t") {
		return "", nil, false
	}
	params = map[string]string{}
	if !hasParams {
		return domain, params, true
	}
	for p := range strings.SplitSeq(rest, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, found := strings.Cut(p, "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !found || k == "" || strings.ContainsAny(val, " \t") {
			return "", nil, false
		}
		params[strings.ToLower(k)] = val
	}
	return domain, params, true
}

func hasTag(rrset []*dns.CAA, tag string) bool {
	for _, r := range rrset {
		if strings.EqualFold(r.Tag, tag) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(strings.TrimSpace(l), s) {
			return true
		}
	}
	return false
}

// caaText is a record as a zone file writes it, without TTL and class.
func caaText(r *dns.CAA) string {
	return fmt.Sprintf("%s CAA %d %s %q", r.Hdr.Name, r.Flag, r.Tag, r.Value)
}
