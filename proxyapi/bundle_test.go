package proxyapi

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCert(t *testing.T, cn string, dnsNames []string, parent *testCert, notBefore, notAfter time.Time) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
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
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

func certPEM(c *testCert) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

func keyPEM(t *testing.T, c *testCert) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestBundleValidation(t *testing.T) {
	now := time.Now()
	root := newTestCert(t, "root", nil, nil, now.Add(-time.Hour), now.Add(48*time.Hour))
	inter := newTestCert(t, "intermediate", nil, root, now.Add(-time.Hour), now.Add(48*time.Hour))
	leaf := newTestCert(t, "example.com", []string{"example.com"}, inter, now.Add(-time.Hour), now.Add(24*time.Hour))
	other := newTestCert(t, "other.com", []string{"other.com"}, inter, now.Add(-time.Hour), now.Add(24*time.Hour))
	expired := newTestCert(t, "example.com", []string{"example.com"}, inter, now.Add(-48*time.Hour), now.Add(-time.Hour))

	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	good := join(certPEM(leaf), certPEM(inter), keyPEM(t, leaf))

	cases := []struct {
		name    string
		pem     []byte
		host    string
		wantErr string
	}{
		{"valid chain then key", good, "example.com", ""},
		{"key first is accepted as HAProxy does", join(keyPEM(t, leaf), certPEM(leaf), certPEM(inter)), "example.com", ""},
		{"mismatched key", join(certPEM(leaf), certPEM(inter), keyPEM(t, other)), "example.com", "does not match"},
		{"chain out of order", join(certPEM(leaf), certPEM(root), certPEM(inter), keyPEM(t, leaf)), "example.com", "out of order"},
		{"name not covered", good, "www.example.com", "does not cover"},
		{"expired", join(certPEM(expired), certPEM(inter), keyPEM(t, expired)), "example.com", "expired"},
		{"garbage", []byte("not a pem"), "example.com", "trailing data"},
		{"empty", nil, "example.com", "no certificate"},
		{"no key", join(certPEM(leaf), certPEM(inter)), "example.com", "no private key"},
		{"two keys", join(certPEM(leaf), keyPEM(t, leaf), keyPEM(t, leaf)), "example.com", "more than one"},
		{"corrupt certificate body", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "example.com", "certificate 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := ParseBundle(c.pem)
			if err == nil {
				err = b.Check(c.host, now)
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}
