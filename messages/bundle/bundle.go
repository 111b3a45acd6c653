// Package bundle is a certificate as HAProxy loads it: one PEM holding the leaf, its chain and
// its key. Parse and Check are the gate every certificate passes before it is stored or uploaded.
package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Bundle is a parsed HAProxy combined PEM: the leaf certificate, its chain in order, then the key.
// DFP stores whatever it is given and a PEM HAProxy cannot load breaks every later reload
// (DFP rule B in proxyapi), so nothing reaches DFP that has not been through Parse and Check.
type Bundle struct {
	Leaf  *x509.Certificate
	Chain []*x509.Certificate // intermediates, leaf's issuer first
	PEM   []byte              // the key is in it; once checked against the leaf it is not kept parsed; nil once Compact
	// Set by Compact, which keeps no leaf: the leaf's fingerprint and validity, the PEM's digest.
	fingerprint         string
	pemSum              [32]byte
	notBefore, notAfter time.Time
}

// Parse reads certificates and exactly one private key from data. It checks the structure:
// at least one certificate, each certificate signed by the next, and the key matching the leaf.
func Parse(data []byte) (*Bundle, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			parse := x509.ParseCertificate
			if len(certs) > 0 {
				parse = issuers.parse
			}
			c, err := parse(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("bundle: certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			if key != nil {
				return nil, errors.New("bundle: more than one private key")
			}
			k, err := parseKey(block)
			if err != nil {
				return nil, fmt.Errorf("bundle: private key: %w", err)
			}
			key = k
		default:
			return nil, fmt.Errorf("bundle: unexpected PEM block %q", block.Type)
		}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("bundle: trailing data that is not PEM")
	}
	if len(certs) == 0 {
		return nil, errors.New("bundle: no certificate")
	}
	if key == nil {
		return nil, errors.New("bundle: no private key")
	}
	b := &Bundle{Leaf: certs[0], Chain: certs[1:], PEM: data}
	if !publicKeysEqual(b.Leaf.PublicKey, key.Public()) {
		return nil, errors.New("bundle: private key does not match the leaf certificate")
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, fmt.Errorf("bundle: chain out of order: certificate %d is not signed by certificate %d: %w", i+1, i+2, err)
		}
	}
	return b, nil
}

// Check is what must hold before the bundle is served for name at now.
// A compact bundle was checked for its name while whole: only its validity is checked again.
func (b *Bundle) Check(name string, now time.Time) error {
	// A wildcard name is matched exactly against the leaf's names: VerifyHostname does that for
	// any name a client could not send.
	if b.Leaf != nil {
		if err := b.Leaf.VerifyHostname(name); err != nil {
			return fmt.Errorf("bundle: does not cover %s: %w", name, err)
		}
	}
	if now.Add(ClockSkew).Before(b.NotBefore()) {
		return fmt.Errorf("bundle: not valid before %s", b.NotBefore().UTC().Format(time.RFC3339))
	}
	if !now.Before(b.NotAfter()) {
		return fmt.Errorf("bundle: expired at %s", b.NotAfter().UTC().Format(time.RFC3339))
	}
	return nil
}

// ClockSkew is how far ahead of this machine's clock a certificate may start and still be kept:
// a CA's fresh certificate starts at the CA's now, and a local clock running behind must not make
// it look unusable (it would be thrown away and ordered again).
const ClockSkew = 6 * time.Hour

// Fingerprint is the SHA-256 of the leaf certificate, hex encoded.
func (b *Bundle) Fingerprint() string {
	if b.fingerprint != "" {
		return b.fingerprint
	}
	sum := sha256.Sum256(b.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// Lifetime is the leaf's validity period.
func (b *Bundle) Lifetime() time.Duration {
	return b.NotAfter().Sub(b.NotBefore())
}

func parseKey(block *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch k := a.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return k.(equaler).Equal(b)
	}
	return false
}
