// Package certgen makes small certificate hierarchies for tests: a root, an intermediate, and
// leaves for chosen names and validity, in the PEM shapes the provisioner handles.
package certgen

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Cert is a certificate with its key.
type Cert struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// CA is a root and an intermediate that signs leaves.
type CA struct {
	Root, Intermediate *Cert
}

// NewCA makes a root and an intermediate valid from an hour ago for a year.
func NewCA(name string) (*CA, error) {
	now := time.Now()
	root, err := Issue(name+" Root", nil, nil, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	if err != nil {
		return nil, err
	}
	inter, err := Issue(name+" Intermediate", nil, root, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	if err != nil {
		return nil, err
	}
	return &CA{Root: root, Intermediate: inter}, nil
}

// Leaf issues a certificate for names from the intermediate.
func (ca *CA) Leaf(names []string, notBefore, notAfter time.Time) (*Cert, error) {
	return Issue(names[0], names, ca.Intermediate, notBefore, notAfter)
}

// Bundle is HAProxy's combined PEM for a new leaf: leaf, intermediate, key.
func (ca *CA) Bundle(names []string, notBefore, notAfter time.Time) ([]byte, error) {
	leaf, err := ca.Leaf(names, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	return bytes.Join([][]byte{leaf.CertPEM(), ca.Intermediate.CertPEM(), leaf.KeyPEM()}, nil), nil
}

// Issue makes a certificate signed by parent (self-signed when parent is nil). Without dnsNames
// it is a CA certificate.
func Issue(cn string, dnsNames []string, parent *Cert, notBefore, notAfter time.Time) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              dnsNames,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  dnsNames == nil,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, fmt.Errorf("certgen: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certgen: %w", err)
	}
	return &Cert{Cert: c, Key: key}, nil
}

// CertPEM is the certificate as PEM.
func (c *Cert) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM is the key as PKCS #8 PEM.
func (c *Cert) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		panic(err) // an ECDSA P-256 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// LookAlike is HAProxy's combined PEM for a forgery of real: its names, issuer's name, serial and
// authority key id (all public, in CT logs), valid until notAfter, signed by a key of its own. It
// is what anyone who reaches DFP's API could place to pass for the CA's certificate.
func LookAlike(real *x509.Certificate, notAfter time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          real.SerialNumber,
		Subject:               real.Subject,
		Issuer:                real.Issuer,
		DNSNames:              real.DNSNames,
		NotBefore:             real.NotBefore,
		NotAfter:              notAfter,
		AuthorityKeyId:        real.AuthorityKeyId,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	// The parent carries the real issuer's name and key id, so the forgery names them.
	parent := &x509.Certificate{Subject: real.Issuer, SubjectKeyId: real.AuthorityKeyId}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certgen: %w", err)
	}
	forged := &Cert{Cert: &x509.Certificate{Raw: der}, Key: key}
	return bytes.Join([][]byte{forged.CertPEM(), forged.KeyPEM()}, nil), nil
}
