package supervisor

import (
	"crypto/x509"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
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

func (l localCA) RenewalWindow(*bundle.Bundle) (issuer.Window, error) {
	return issuer.Window{}, issuer.ErrNoARI
}

func (l localCA) Obtain(name string, _ *x509.Certificate) (*bundle.Bundle, error) {
	pem, err := l.ca.Bundle([]string{name}, time.Now().Add(-time.Minute), time.Now().Add(90*24*time.Hour))
	if err != nil {
		return nil, err
	}
	if err := l.store.SaveBundle(name, pem); err != nil {
		return nil, err
	}
	return bundle.Parse(pem)
}

// supervised starts the supervisor with the real limiter and uploader, a DFP stand-in, an
// in-memory CA, and discovery as given. cfg may set Excluded.
func supervised(t *testing.T, discovery *actor.Props, cfg Config) (Config, *dfpstub.Stub, *certgen.CA, *testkit.LogBuffer) {
	t.Helper()
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	dfp, err := dfpstub.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dfp.Close)
	dfpURL, _ := url.Parse(dfp.URL())
	st, err := store.Open(t.TempDir(), "https://ca.test/dir")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certgen.NewCA("local")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Issuer, cfg.Discovery, cfg.Logger, cfg.Now = st, localCA{ca: ca, store: st}, discovery, logger, time.Now
	cfg.Limiter = ratelimiter.Props(ratelimiter.Config{Table: limits.Production, Ledger: st.Ledger(),
		Concurrency: 2, Lease: time.Minute, Logger: logger, Now: time.Now})
	cfg.Uploader = uploader.Props(uploader.Config{DFP: proxyapi.New(dfpURL, 5*time.Second), Timeout: 5 * time.Second, ReconcileInterval: time.Hour,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: logger, Now: time.Now})
	cfg.RestartBase, cfg.RenewInterval, cfg.RemovedGrace = 10*time.Millisecond, time.Hour, time.Hour
	return cfg, dfp, ca, logs
}

// start runs the supervisor until the test ends; its actors stop before the temporary
// directories go, since they write state until then.
func start(t *testing.T, cfg Config) {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return cfg.Logger }))
	sup := system.Root.Spawn(Props(cfg))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(sup).Wait()
		system.Shutdown()
	})
}

// idleDiscovery reports nothing: only the store names certificates.
type idleDiscovery struct{}

func (idleDiscovery) Receive(actor.Context) {}

func TestExcludedNamesWithStoredCertificatesAreNotManaged(t *testing.T) {
	cfg := Config{Excluded: func(name string) bool { return strings.HasSuffix(name, ".internal.test") }}
	cfg, dfp, ca, logs := supervised(t, actor.PropsFromProducer(func() actor.Actor { return idleDiscovery{} }), cfg)
	for _, name := range []string{"kept.test", "a.internal.test"} {
		pem, err := ca.Bundle([]string{name}, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Store.SaveBundle(name, pem); err != nil {
			t.Fatal(err)
		}
	}
	start(t, cfg)
	testkit.Eventually(t, "the kept name uploaded", logs, func() bool { _, ok := dfp.Cert("kept.test.pem"); return ok })
	testkit.Eventually(t, "the excluded name reported", logs, func() bool { return len(logs.Events(event.DomainExcluded)) == 1 })
	for _, e := range logs.Events("") {
		if e["domain"] == "a.internal.test" && e["event"] != string(event.DomainExcluded) {
			t.Errorf("an excluded name was managed: %v", e)
		}
	}
	if _, ok := dfp.Cert("a.internal.test.pem"); ok {
		t.Error("an excluded name's certificate was uploaded")
	}
}

func TestCrashedChildIsRestartedAndTheWorkGoesOn(t *testing.T) {
	starts := &atomic.Int32{}
	cfg, dfp, _, logs := supervised(t, actor.PropsFromProducer(func() actor.Actor {
		return &crashingDiscovery{starts: starts, crash: 2}
	}), Config{})
	start(t, cfg)
	testkit.Eventually(t, "x.example.com uploaded", logs, func() bool { _, ok := dfp.Cert("x.example.com.pem"); return ok })
	if got := starts.Load(); got != 3 {
		t.Errorf("discovery started %d times, want 3 (two crashes, two restarts)", got)
	}
}

// listingDiscovery reports names every few milliseconds, as polls of DFP would.
type listingDiscovery struct{ names []string }

func (d listingDiscovery) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started, string:
		ctx.Send(ctx.Parent(), &messages.DomainsDiscovered{Names: d.names, Authoritative: true})
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(20*time.Millisecond, func() { root.Send(self, "poll") })
	}
}

// A DFP that lists more names than MAX_NAMES: only MAX_NAMES get actors (and orders), the rest
// wait, and one warning says so, not one per poll.
func TestNamesPastMaxNamesWait(t *testing.T) {
	names := []string{"a.example.com", "b.example.org", "c.example.net", "d.example.io"}
	cfg, dfp, _, logs := supervised(t, actor.PropsFromProducer(func() actor.Actor { return listingDiscovery{names: names} }),
		Config{MaxNames: 2})
	start(t, cfg)
	testkit.Eventually(t, "two names uploaded", logs, func() bool { return len(dfp.CertNames()) == 2 })
	time.Sleep(200 * time.Millisecond) // several more polls
	if got := dfp.CertNames(); len(got) != 2 {
		t.Fatalf("DFP holds %v, want only MAX_NAMES=2 certificates", got)
	}
	warned := logs.Events(event.MaxNamesReached)
	if len(warned) != 1 || warned[0]["waiting"] != float64(2) {
		t.Fatalf("max_names_reached = %v, want one warning with 2 waiting", warned)
	}
}
