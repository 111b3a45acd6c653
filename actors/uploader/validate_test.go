package uploader

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// A bundle the certificate actor parsed is shared, not parsed a second time; one whose bytes are
// not the message's is not trusted; either way the name and the time are checked.
func TestValidate(t *testing.T) {
	ca, err := certgen.NewCA("validate")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pem, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	other, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	parsed, err := bundle.Parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		host    string
		pem     []byte
		parsed  *bundle.Bundle
		at      time.Time
		shared  bool // the result is the sender's parsed bundle
		wantErr bool
	}{
		{"parsed by the sender: shared", "a.example.com", pem, parsed, now, true, false},
		{"not parsed: parsed here", "a.example.com", pem, nil, now, false, false},
		{"parsed from other bytes: parsed here", "a.example.com", other, parsed, now, false, false},
		{"shared but for another name", "b.example.com", pem, parsed, now, false, true},
		{"shared but expired", "a.example.com", pem, parsed, now.Add(48 * time.Hour), false, true},
		{"garbage", "a.example.com", []byte("garbage"), nil, now, false, true},
	}
	for _, c := range cases {
		b, err := Validate(c.host, c.pem, c.parsed, c.at)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error %v, want error %v", c.name, err, c.wantErr)
			continue
		}
		if err == nil && (b == parsed) != c.shared {
			t.Errorf("%s: shared %v, want %v", c.name, b == parsed, c.shared)
		}
		if err == nil && string(b.PEM) != string(c.pem) {
			t.Errorf("%s: the bundle is not the message's bytes", c.name)
		}
	}
}
