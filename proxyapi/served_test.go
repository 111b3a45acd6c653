package proxyapi

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// The serve check asks as a client would: by the name itself, and for a wildcard by a subdomain
// (no client sends "*"), which HAProxy answers with the wildcard certificate.
func TestServedFingerprintAsksByAClientsName(t *testing.T) {
	now := time.Now()
	ca := testkit.Must[*certgen.CA](t)(certgen.NewCA("test"))
	pem := testkit.Must[[]byte](t)(ca.Bundle([]string{"*.wild.test"}, now.Add(-time.Hour), now.Add(time.Hour)))
	cert := testkit.Must[tls.Certificate](t)(tls.X509KeyPair(pem, pem))
	want := testkit.Must[*bundle.Bundle](t)(bundle.Parse(pem)).Fingerprint()

	var mu sync.Mutex
	var asked []string
	ln := testkit.Must[net.Listener](t)(tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.Lock()
		asked = append(asked, h.ServerName)
		mu.Unlock()
		return &cert, nil
	}}))
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	for _, name := range []string{"*.wild.test", "www.example.test"} {
		got, err := ServedFingerprint(context.Background(), ln.Addr().String(), name)
		if err != nil || got != want {
			t.Fatalf("ServedFingerprint(%q) = %s, %v; want %s", name, got, err, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != "wildcard-check.wild.test" || asked[1] != "www.example.test" {
		t.Errorf("server names sent = %q, want [wildcard-check.wild.test www.example.test]", asked)
	}
}
