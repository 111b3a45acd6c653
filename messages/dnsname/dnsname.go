// Package dnsname is a DNS name as a certificate carries it: how a host becomes one (Normalise,
// NormaliseHost), wildcards and the file names that stand for them, and the patterns that
// EXCLUDE_DOMAINS and DNS01_DOMAINS list.
package dnsname

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Reasons a host DFP serves gets no certificate. They are stable strings: logs carry them.
var (
	ErrWildcard    = errors.New("wildcard: needs DNS-01, which DNS_PROVIDER turns on")
	ErrIPAddress   = errors.New("IP address: only DNS names are issued")
	ErrSingleLabel = errors.New("single-label name: not publicly resolvable")
	ErrLocalhost   = errors.New("localhost: not publicly resolvable")
	ErrMalformed   = errors.New("malformed name")
)

// WildcardPrefix starts a wildcard name: "*.example.com" covers every direct subdomain of example.com.
const WildcardPrefix = "*."

// IsWildcard reports whether a normalised name is a wildcard.
func IsWildcard(name string) bool { return strings.HasPrefix(name, WildcardPrefix) }

// NormaliseHost is Normalise that, with wildcards, also takes "*.x" and DFP's ".x" (DFP
// rule A in proxyapi) and gives "*.x" for them.
func NormaliseHost(host string, wildcards bool) (string, error) {
	h := strings.TrimSpace(host)
	base, cut := strings.CutPrefix(h, WildcardPrefix)
	if !cut {
		base, cut = strings.CutPrefix(h, ".")
	}
	if !cut || !wildcards {
		return Normalise(host)
	}
	name, err := Normalise(base)
	if err != nil {
		return "", err
	}
	return WildcardPrefix + name, nil
}

// wildcardStem stands for "*" in file names: HAProxy loads every file in DFP's /certs whatever its
// name, but "*" in a file name trips shells and globs, and "_" can start no name Normalise
// gives, so "_wildcard.x" never meets a real host's file (mkcert names its files the same way).
const wildcardStem = "_wildcard."

// FileStem is the name as a file or directory name: the name itself, "_wildcard.x" for "*.x".
func FileStem(name string) string {
	if base, ok := strings.CutPrefix(name, WildcardPrefix); ok {
		return wildcardStem + base
	}
	return name
}

// FromFileStem undoes FileStem.
func FromFileStem(stem string) string {
	if base, ok := strings.CutPrefix(stem, wildcardStem); ok {
		return WildcardPrefix + base
	}
	return stem
}

// Normalise turns a host as DFP stores it (any case, maybe host:port, maybe Unicode) into the
// ASCII lower-case DNS name a certificate is issued for, or says why it cannot be issued.
// DFP shows "*.x" as ".x" (DFP rule A in proxyapi), so both count as wildcards.
func Normalise(host string) (string, error) {
	h := strings.TrimSpace(host)
	if h == "" {
		return "", ErrMalformed
	}
	if strings.HasPrefix(h, "*") || strings.HasPrefix(h, ".") {
		return "", ErrWildcard
	}
	if hp, port, err := net.SplitHostPort(h); err == nil {
		if _, perr := strconv.ParseUint(port, 10, 16); perr != nil {
			return "", fmt.Errorf("%w: bad port in %q", ErrMalformed, host)
		}
		h = hp
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return "", ErrIPAddress
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	ascii, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if ascii == "localhost" || strings.HasSuffix(ascii, ".localhost") {
		return "", ErrLocalhost
	}
	if len(ascii) > 253 {
		return "", fmt.Errorf("%w: longer than 253 characters", ErrMalformed)
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", ErrSingleLabel
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Errorf("%w: bad label %q", ErrMalformed, l)
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return "", fmt.Errorf("%w: numeric top-level label", ErrMalformed)
	}
	return ascii, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
