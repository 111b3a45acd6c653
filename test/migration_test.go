package test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// issueOnce runs the service in w until every fixture name is in DFP, and stops it.
func issueOnce(t *testing.T, w *World) {
	t.Helper()
	r := w.start(t)
	waitFor(t, "every fixture name uploaded", 90*time.Second, r, func() bool {
		return len(w.DFP.CertNames()) == len(fixtureNames)
	})
	r.shutdown(t)
}

func chainsTo(b *bundle.Bundle, name string, roots *x509.CertPool) bool {
	inter := x509.NewCertPool()
	for _, c := range b.Chain {
		inter.AddCert(c)
	}
	_, err := b.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
	return err == nil
}

// A store full of certificates from one CA (staging), started with another configured
// (production): every name gets a certificate from the new CA and DFP's copy is replaced, even
// while DFP lists no services; the old CA's certificates are never uploaded again.
func TestSwitchingCAReissuesAndReplacesEveryCertificate(t *testing.T) {
	t.Parallel()
	staging := newWorld(t)
	issueOnce(t, staging)

	production, err := testca.Start(testca.Options{ChallengePort: staging.CA.ChallengePort()})
	if err != nil {
		t.Fatal(err)
	}
	defer production.Close()
	roots := filepath.Join(t.TempDir(), "production-tls.pem")
	if err := os.WriteFile(roots, production.TLSRootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	staging.DFP.Restart(true) // DFP keeps the staging certificates, lists no services
	staging.Env["ACME_DIRECTORY"] = production.DirectoryURL
	staging.Env["LEGO_CA_CERTIFICATES"] = roots
	staging.Env["PREFLIGHT_RESOLVER"] = production.DNSAddr

	r := staging.start(t)
	waitFor(t, "every name replaced by a production certificate", 90*time.Second, r, func() bool {
		for _, name := range fixtureNames {
			pem, _ := staging.DFP.Cert(name + ".pem")
			b, err := bundle.Parse(pem)
			if err != nil || !chainsTo(b, name, production.IssuerRoots()) {
				return false
			}
		}
		return true
	})
	r.shutdown(t)
	if n := len(r.logs.Events(event.CertificateLoaded)); n != 0 {
		t.Errorf("%d certificates of the old CA were loaded for serving", n)
	}
	for _, u := range staging.DFP.Uploads()[len(fixtureNames):] {
		b, err := bundle.Parse(u.Body)
		if err != nil || chainsTo(b, u.CertName[:len(u.CertName)-len(".pem")], staging.CA.IssuerRoots()) {
			t.Errorf("after the switch %s was uploaded from the old CA", u.CertName)
		}
	}
}

// Certificates certbot left in DATA_DIR/live/ are adopted, uploaded and not issued again.
func TestCertbotCertificatesAreAdopted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	issueOnce(t, w)
	// Turn the store into what certbot leaves: live/<name>/{fullchain,privkey}.pem and renewal/<name>.conf.
	certbotDir := filepath.Join(t.TempDir(), "letsencrypt")
	old, err := store.Open(w.Env["DATA_DIR"], w.CA.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fixtureNames {
		pem, err := old.LoadBundle(name)
		if err != nil {
			t.Fatal(err)
		}
		keyStart := bytes.Index(pem, []byte("-----BEGIN EC PRIVATE KEY-----"))
		if keyStart < 0 {
			keyStart = bytes.Index(pem, []byte("-----BEGIN PRIVATE KEY-----"))
		}
		writeFile(t, filepath.Join(certbotDir, "live", name, "fullchain.pem"), pem[:keyStart])
		writeFile(t, filepath.Join(certbotDir, "live", name, "privkey.pem"), pem[keyStart:])
		writeFile(t, filepath.Join(certbotDir, "renewal", name+".conf"), []byte("[renewalparams]\nserver = "+w.CA.DirectoryURL+"\n"))
	}
	w.Env["DATA_DIR"] = certbotDir
	w.DFP.Restart(false)

	r := w.start(t)
	waitFor(t, "the adopted certificates uploaded", 30*time.Second, r, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), certFiles(fixtureNames))
	})
	r.shutdown(t)
	if n := len(r.logs.Events(event.CertificateImported)); n != len(fixtureNames) {
		t.Errorf("certificate_imported %d times, want %d", n, len(fixtureNames))
	}
	if n := len(r.logs.Events(event.IssuanceStarted)); n != 0 {
		t.Errorf("%d orders placed for names certbot had certificates for", n)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
