package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

// World is everything the service talks to, on loopback: Pebble, the DFP API stand-in, and
// the proxy's port 80 routing challenges to the service's responder, as DFP with the companion
// registered does. Env is the service's environment for it, read by config.Load.
type World struct {
	CA       *testca.CA
	DFP      *dfpstub.Stub
	Frontend *dfpstub.Frontend
	TLS      *dfpstub.TLSFrontend
	Env      map[string]string
	Dir      string
}

// NewWorld builds a world in dir. Challenges take the production path: CA -> proxy port 80 (the
// frontend) -> responder.
func NewWorld(dir string, opts testca.Options) (*World, error) {
	w := &World{Dir: dir}
	responder, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	ops, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	if w.Frontend, err = dfpstub.StartFrontend("127.0.0.1:0", responder); err != nil {
		return nil, err
	}
	opts.ChallengePort, _ = testca.Port(w.Frontend.Addr())
	if w.CA, err = testca.Start(opts); err != nil {
		w.Close()
		return nil, err
	}
	if w.DFP, err = dfpstub.New(dfpstub.Fixture); err != nil {
		w.Close()
		return nil, err
	}
	if w.TLS, err = w.DFP.StartTLSFrontend(); err != nil {
		w.Close()
		return nil, err
	}
	roots := filepath.Join(dir, "pebble-tls.pem")
	if err := os.WriteFile(roots, w.CA.TLSRootPEM, 0o600); err != nil {
		w.Close()
		return nil, fmt.Errorf("world: %w", err)
	}
	issuerRoots := filepath.Join(dir, "pebble-roots.pem")
	if err := os.WriteFile(issuerRoots, w.CA.IssuerRootsPEM(), 0o600); err != nil {
		w.Close()
		return nil, fmt.Errorf("world: %w", err)
	}
	w.Env = map[string]string{
		"PROXY_ADDRESS":        w.DFP.URL(),
		"ACME_DIRECTORY":       w.CA.DirectoryURL,
		"LEGO_CA_CERTIFICATES": roots,
		"CA_ROOTS_FILE":        issuerRoots,
		"DATA_DIR":             filepath.Join(dir, "data"),
		"CHALLENGE_ADDR":       responder,
		"PREFLIGHT_ADDR":       w.Frontend.Addr(),
		"PREFLIGHT_RESOLVER":   w.CA.DNSAddr,
		"PREFLIGHT_HTTP_PORT":  strconv.Itoa(opts.ChallengePort),
		"SERVE_CHECK_ADDR":     w.TLS.Addr(),
		"CERTBOT_EMAIL":        "ops@example.test",
		"DISCOVERY_INTERVAL":   "1s",
		"METRICS_ADDR":         ops,
		// Pebble stands in for Let's Encrypt, whose limits the service keeps; any other CA's
		// default is none.
		"RATE_LIMITS": "production",
	}
	return w, nil
}

// Seed writes a certificate for every name into the service's store (DATA_DIR) and into DFP's
// /certs, loaded by HAProxy, as a restart of a service that issued them would find them.
func (w *World) Seed(names []string) error {
	ca, err := certgen.NewCA("seed")
	if err != nil {
		return err
	}
	st, err := store.Open(w.Env["DATA_DIR"], w.Env["ACME_DIRECTORY"])
	if err != nil {
		return err
	}
	now := time.Now()
	for _, name := range names {
		pem, err := ca.Bundle([]string{name}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			return err
		}
		if err := st.SaveBundle(name, pem); err != nil {
			return err
		}
		w.DFP.Load(uploader.CertName(name), pem)
	}
	return nil
}

// Getenv reads the world's environment as os.Getenv would.
func (w *World) Getenv(k string) string { return w.Env[k] }

// Close stops everything the world started.
func (w *World) Close() {
	if w.TLS != nil {
		w.TLS.Close()
	}
	if w.DFP != nil {
		w.DFP.Close()
	}
	if w.CA != nil {
		w.CA.Close()
	}
	if w.Frontend != nil {
		w.Frontend.Close()
	}
}
