package supervisor

import (
	"crypto/x509"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/store"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
)

// crashingDiscovery panics on its first starts, then reports one name, like a discovery whose
// first polls hit a bug.
type crashingDiscovery struct {
	starts *atomic.Int32
	crash  int32
}

func (d *crashingDiscovery) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); !ok {
		return
	}
	if d.starts.Add(1) <= d.crash {
		panic("discovery bug")
	}
	ctx.Send(ctx.Parent(), &messages.DomainsDiscovered{Names: []string{"x.example.com"}})
}

// localCA obtains certificates from an in-memory CA and stores them as the real issuer does.
type localCA struct {
	ca    *certgen.CA
	store *store.Store
}

func (l localCA) RenewalWindow(*proxyapi.Bundle) (issuer.Window, error) {
	return issuer.Window{}, issuer.ErrNoARI
}

func (l localCA) Obtain(name string, _ *x509.Certificate) (*proxyapi.Bundle, error) {
	pem, err := l.ca.Bundle([]string{name}, time.Now().Add(-time.Minute), time.Now().Add(90*24*time.Hour))
	if err != nil {
		return nil, err
	}
	if err := l.store.SaveBundle(name, pem); err != nil {
		return nil, err
	}
	return proxyapi.ParseBundle(pem)
}

func TestCrashedChildIsRestartedAndTheWorkGoesOn(t *testing.T) {
	logs := &test.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	dfp, err := dfpstub.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dfp.Close()
	dfpURL, _ := url.Parse(dfp.URL())
	st, err := store.Open(t.TempDir(), "https://ca.test/dir")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certgen.NewCA("local")
	if err != nil {
		t.Fatal(err)
	}
	starts := &atomic.Int32{}

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	defer system.Shutdown()
	sup := system.Root.Spawn(Props(Config{
		Store:  st,
		Issuer: localCA{ca: ca, store: st},
		Limiter: ratelimiter.Props(ratelimiter.Config{Table: ratelimiter.Production, LedgerPath: filepath.Join(t.TempDir(), "ledger.json"),
			Concurrency: 2, Lease: time.Minute, Logger: logger, Now: time.Now}),
		Uploader: uploader.Props(uploader.Config{DFP: proxyapi.New(dfpURL, 5*time.Second), Timeout: 5 * time.Second, ReconcileInterval: time.Hour,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: logger, Now: time.Now}),
		Discovery: actor.PropsFromProducer(func() actor.Actor {
			return &crashingDiscovery{starts: starts, crash: 2}
		}),
		Logger:        logger,
		Now:           time.Now,
		RestartBase:   10 * time.Millisecond,
		RenewInterval: time.Hour,
		RemovedGrace:  time.Hour,
		PresencePath:  filepath.Join(t.TempDir(), "presence.json"),
	}))
	// Stop the actors before the temporary directories go: they write state until then.
	t.Cleanup(func() { _ = system.Root.StopFuture(sup).Wait() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := dfp.Cert("x.example.com.pem"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("x.example.com never uploaded; discovery started %d times; log:\n%s", starts.Load(), logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := starts.Load(); got != 3 {
		t.Errorf("discovery started %d times, want 3 (two crashes, two restarts)", got)
	}
}
