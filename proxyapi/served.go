package proxyapi

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// ServedFingerprint asks the proxy's TLS port at addr which certificate it presents for name (by
// SNI), as a client would, and returns the leaf's SHA-256. It does not judge trust: it only tells
// whether HAProxy picked up what was uploaded (DFP answers 200 even when the reload failed).
func ServedFingerprint(ctx context.Context, addr, name string) (string, error) {
	d := tls.Dialer{Config: &tls.Config{ServerName: SNIFor(name), InsecureSkipVerify: true}} //nolint:gosec // fingerprint compared, not trusted
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("TLS handshake with %s for %s: %w", addr, name, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", errors.New("the proxy presented no certificate")
	}
	sum := sha256.Sum256(certs[0].Raw)
	return hex.EncodeToString(sum[:]), nil
}

// wildcardCheckLabel is the subdomain a wildcard's serve check asks for: a client sends a name, never
// "*", and a made-up label is unlikely to have an exact certificate of its own that HAProxy would
// prefer.
const wildcardCheckLabel = "wildcard-check"

// SNIFor is the server name a client would send to reach name: a subdomain for a wildcard.
func SNIFor(name string) string {
	if base, ok := strings.CutPrefix(name, dnsname.WildcardPrefix); ok {
		return wildcardCheckLabel + "." + base
	}
	return name
}
