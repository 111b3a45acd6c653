package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// certbotLeaves writes a certbot-shaped live/<name>/ and, when server is set, renewal/<name>.conf.
func certbotLeaves(t *testing.T, root, name, server string, ca *certgen.CA, notBefore, notAfter time.Time) {
	t.Helper()
	leaf, err := ca.Leaf([]string{name}, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(root, "live", name)
	if err := os.MkdirAll(live, 0o755); err != nil {
		t.Fatal(err)
	}
	fullchain := bytes.Join([][]byte{leaf.CertPEM(), ca.Intermediate.CertPEM()}, nil)
	if err := os.WriteFile(filepath.Join(live, "fullchain.pem"), fullchain, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "privkey.pem"), leaf.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if server != "" {
		conf := "# renew_before_expiry = 30 days\nversion = 2.11.0\n[renewalparams]\nauthenticator = webroot\nserver = " + server + "\n"
		if err := os.MkdirAll(filepath.Join(root, "renewal"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "renewal", name+".conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImportCertbot(t *testing.T) {
	now := time.Now()
	valid, expired := now.Add(30*24*time.Hour), now.Add(-time.Hour)
	private, _ := certgen.NewCA("Private")
	le, _ := certgen.NewCA("Let's Encrypt")
	staging, _ := certgen.NewCA("(STAGING) Let's Encrypt")
	const custom = "https://ca.internal/directory"

	cases := []struct {
		name      string
		directory string // configured
		server    string // in renewal/<name>.conf
		ca        *certgen.CA
		notAfter  time.Time
		adopted   bool
		reason    string
	}{
		{"same.test", custom, custom, private, valid, true, ""},
		{"other.test", custom, lego.LEDirectoryStaging, private, valid, false, "not the configured"},
		{"noconf.test", custom, "", private, valid, false, "no renewal/noconf.test.conf"},
		{"expired.test", custom, custom, private, expired, false, "expired"},
		{"le.test", lego.LEDirectoryProduction, "", le, valid, true, ""},
		{"staging.test", lego.LEDirectoryProduction, "", staging, valid, false, "does not show"},
		{"stagingok.test", lego.LEDirectoryStaging, "", staging, valid, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			certbotLeaves(t, root, c.name, c.server, c.ca, now.Add(-time.Hour), c.notAfter)
			s, err := Open(root, c.directory)
			if err != nil {
				t.Fatal(err)
			}
			got := s.ImportCertbot(now)
			if len(got) != 1 || got[0].Name != c.name {
				t.Fatalf("imports = %+v", got)
			}
			_, loadErr := s.LoadBundle(c.name)
			if c.adopted {
				if got[0].Err != nil || loadErr != nil {
					t.Fatalf("not adopted: %v / %v", got[0].Err, loadErr)
				}
				return
			}
			if got[0].Err == nil || !strings.Contains(got[0].Err.Error(), c.reason) || loadErr == nil {
				t.Fatalf("error = %v (stored: %v), want not adopted because %q", got[0].Err, loadErr == nil, c.reason)
			}
		})
	}
}

func TestImportLeavesStoredCertificatesAlone(t *testing.T) {
	root := t.TempDir()
	ca, _ := certgen.NewCA("Private")
	const dir = "https://ca.internal/directory"
	certbotLeaves(t, root, "a.test", dir, ca, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	s, _ := Open(root, dir)
	if err := s.SaveBundle("a.test", []byte("ours")); err != nil {
		t.Fatal(err)
	}
	if got := s.ImportCertbot(time.Now()); len(got) != 0 {
		t.Fatalf("imported over a stored certificate: %+v", got)
	}
	if b, _ := s.LoadBundle("a.test"); string(b) != "ours" {
		t.Fatal("stored certificate overwritten")
	}
}
