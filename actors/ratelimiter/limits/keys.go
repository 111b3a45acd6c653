package limits

import (
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

// RegisteredDomain is the name's registered domain by the Public Suffix List, or the name itself.
// A wildcard counts under its base's: "*.example.com" under example.com, as Let's Encrypt counts it.
func RegisteredDomain(name string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimPrefix(name, "*.")); err == nil {
		return d
	}
	return name
}

// BucketKey is the ledger's key of the bucket lim keeps for name: "limit|scope". Every bucket key
// is built here and read back by LimitOfKey; nothing else parses them.
func BucketKey(lim Limit, name string) string {
	switch lim.Scope {
	case ScopeAccount:
		return string(lim.Name) + "|account"
	case ScopeRegisteredDomain:
		return string(lim.Name) + "|" + RegisteredDomain(name)
	default:
		return string(lim.Name) + "|" + name
	}
}

// LimitOfKey is the limit a bucket key (BucketKey) belongs to.
func LimitOfKey(k string) messages.Limit {
	limit, _, _ := strings.Cut(k, "|")
	return messages.Limit(limit)
}
