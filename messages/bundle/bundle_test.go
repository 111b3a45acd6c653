package bundle

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestBundleValidation(t *testing.T) {
	now := time.Now()
	ca := must[*certgen.CA](t)(certgen.NewCA("test"))
	leafOf := must[*certgen.Cert](t)
	leaf := leafOf(ca.Leaf([]string{"example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour)))
	other := leafOf(ca.Leaf([]string{"other.com"}, now.Add(-time.Hour), now.Add(24*time.Hour)))
	expired := leafOf(ca.Leaf([]string{"example.com"}, now.Add(-48*time.Hour), now.Add(-time.Hour)))
	wild := leafOf(ca.Leaf([]string{"*.wild.test"}, now.Add(-time.Hour), now.Add(24*time.Hour)))
	oneSub := leafOf(ca.Leaf([]string{"a.wild.test"}, now.Add(-time.Hour), now.Add(24*time.Hour)))
	inter, root := ca.Intermediate, ca.Root

	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	good := join(leaf.CertPEM(), inter.CertPEM(), leaf.KeyPEM())

	cases := []struct {
		name    string
		pem     []byte
		host    string
		wantErr string
	}{
		{"valid chain then key", good, "example.com", ""},
		{"key first is accepted as HAProxy does", join(leaf.KeyPEM(), leaf.CertPEM(), inter.CertPEM()), "example.com", ""},
		{"mismatched key", join(leaf.CertPEM(), inter.CertPEM(), other.KeyPEM()), "example.com", "does not match"},
		{"chain out of order", join(leaf.CertPEM(), root.CertPEM(), inter.CertPEM(), leaf.KeyPEM()), "example.com", "out of order"},
		{"name not covered", good, "www.example.com", "does not cover"},
		{"wildcard for the wildcard", join(wild.CertPEM(), inter.CertPEM(), wild.KeyPEM()), "*.wild.test", ""},
		{"wildcard for a subdomain", join(wild.CertPEM(), inter.CertPEM(), wild.KeyPEM()), "a.wild.test", ""},
		{"one subdomain is not the wildcard", join(oneSub.CertPEM(), inter.CertPEM(), oneSub.KeyPEM()), "*.wild.test", "does not cover"},
		{"exact name is not the wildcard", good, "*.example.com", "does not cover"},
		{"expired", join(expired.CertPEM(), inter.CertPEM(), expired.KeyPEM()), "example.com", "expired"},
		{"garbage", []byte("not a pem"), "example.com", "trailing data"},
		{"empty", nil, "example.com", "no certificate"},
		{"no key", join(leaf.CertPEM(), inter.CertPEM()), "example.com", "no private key"},
		{"two keys", join(leaf.CertPEM(), leaf.KeyPEM(), leaf.KeyPEM()), "example.com", "more than one"},
		{"corrupt certificate body", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "example.com", "certificate 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Parse(c.pem)
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
