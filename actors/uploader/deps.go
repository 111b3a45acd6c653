package uploader

// What the uploader depends on, its configuration, and the messages it sends itself.

import (
	"context"
	"crypto/x509"
	"log/slog"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// DFP is the part of the DFP client the uploader uses; *proxyapi.Client is the real one.
type DFP interface {
	PutCert(ctx context.Context, certName string, pem []byte, distribute bool) error
	EachCert(ctx context.Context, fn func(proxyapi.Cert) error) error
}

// Config tunes the uploader.
type Config struct {
	DFP        DFP
	Distribute bool
	// DistributeRetry is how long uploads go to one replica after DFP refused to distribute,
	// before distribution is tried again (0: an hour).
	DistributeRetry time.Duration
	// ReconcileInterval is how often DFP's certificates are compared with the newest known ones.
	ReconcileInterval time.Duration
	// ServeCheckAddr is the proxy's TLS address (host:443) where each upload is checked to be
	// served; "" turns the check off.
	ServeCheckAddr string
	// ServeCheckDelay lets HAProxy finish its reload (about 0.6 s) before an upload is checked.
	ServeCheckDelay time.Duration
	// SettleDelay is how long after the first stored certificate arrives DFP's list is read to
	// compare them all (the others arrive meanwhile); 0: a second.
	SettleDelay time.Duration
	// WatchInterval is how often the proxy watch samples names by handshake (DISCOVERY_INTERVAL);
	// 0 turns it off. It runs only with ServeCheckAddr.
	WatchInterval time.Duration
	// Roots verify a certificate someone else put in DFP before it may stand instead of the
	// service's (nil: the system's; see Trusted).
	Roots *x509.CertPool
	// Load reads a name's stored PEM, for an upload of a bundle the uploader keeps compact: with
	// it no PEM is held once a name is uploaded or learned from the store. nil: PEMs are held.
	Load func(name string) ([]byte, error)
	// Book, when set, gets every name's serve state (for /metrics, /readyz and status).
	Book       *served.Book
	Timeout    time.Duration // one PUT; a poisoned PEM makes DFP take 20 s
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// uploaded is the result of one PUT, sent back by the goroutine that made it.
type uploaded struct {
	name       string
	bundle     *bundle.Bundle
	distribute bool
	stored     bool // the store holds exactly what was uploaded
	err        error
}

// retry is the timer message that ends a backoff.
type retry struct{}

// reconcileTick is the timer message that starts a reconciliation.
type reconcileTick struct{}

// compareStored is the timer message that compares the stored certificates learned since the last
// comparison with DFP's list.
type compareStored struct{}

// listed is DFP's certificate list, fetched for a reconciliation.
type listed struct {
	held    int // DFP's files
	stale   []Stale
	newer   []Newer
	expired []string
	err     error
	askedAt time.Time // an upload that ended after this is not in the list
}
