package uploader

import (
	"bytes"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/uploader/queue"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

func startUploader(t *testing.T, dfp *dfpstub.Stub) (*actor.ActorSystem, *actor.PID, *testkit.LogBuffer) {
	t.Helper()
	return startUploaderChecking(t, dfp, "")
}

func startUploaderChecking(t *testing.T, dfp *dfpstub.Stub, serveCheckAddr string) (*actor.ActorSystem, *actor.PID, *testkit.LogBuffer) {
	t.Helper()
	return startUploaderWith(t, dfp, func(c *Config) { c.ServeCheckAddr = serveCheckAddr })
}

func startUploaderWith(t *testing.T, dfp *dfpstub.Stub, tune func(*Config)) (*actor.ActorSystem, *actor.PID, *testkit.LogBuffer) {
	t.Helper()
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	u, err := url.Parse(dfp.URL())
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	cfg := Config{
		DFP: proxyapi.New(u, 5*time.Second), Distribute: true, Timeout: 5 * time.Second, ReconcileInterval: time.Hour, ServeCheckDelay: 50 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: logger, Now: time.Now,
	}
	tune(&cfg)
	pid := system.Root.Spawn(Props(cfg))
	t.Cleanup(system.Shutdown)
	return system, pid, logs
}

// newStub is an empty DFP stand-in, closed when the test ends.
func newStub(t *testing.T) *dfpstub.Stub {
	t.Helper()
	dfp, err := dfpstub.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dfp.Close)
	return dfp
}

func TestUploaderRetriesWhileDFPIsDownAndKeepsTheNewestBundle(t *testing.T) {
	dfp := newStub(t)
	ca, err := certgen.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	older, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	newer, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	other, _ := ca.Bundle([]string{"b.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))

	dfp.SetDown(true)
	system, pid, logs := startUploader(t, dfp)
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: older})
	testkit.Eventually(t, "two failed uploads", logs, func() bool { return len(logs.Events(event.UploadFailed)) >= 2 })
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: newer})
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: older}) // late, and older
	system.Root.Send(pid, &messages.DeployCertificate{Name: "b.example.com", Bundle: other})
	dfp.SetDown(false)
	testkit.Eventually(t, "both names uploaded", logs, func() bool { return len(dfp.CertNames()) == 2 })

	if got, _ := dfp.Cert("a.example.com.pem"); !bytes.Equal(got, newer) {
		t.Error("DFP holds an older bundle for a.example.com than the newest deployed")
	}
	for _, f := range logs.Events(event.UploadFailed) {
		if f["retry_at"] == nil {
			t.Errorf("upload_failed without retry_at: %v", f)
		}
	}
	if n := len(logs.Events(event.DistributeDisabled)); n != 1 {
		t.Errorf("distribute_disabled logged %d times, want 1", n)
	}
}

func TestUploaderNeverSendsAnInvalidBundle(t *testing.T) {
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	wrongName, _ := ca.Bundle([]string{"other.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	expired, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-2*time.Hour), now.Add(-time.Hour))
	good, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))

	system, pid, logs := startUploader(t, dfp)
	for _, bad := range [][]byte{[]byte("not a pem"), wrongName, expired} {
		system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: bad})
	}
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: good})
	testkit.Eventually(t, "the good bundle uploaded", logs, func() bool { return len(logs.Events(event.CertificateUploaded)) == 1 })
	if n := len(logs.Events(event.UploadRejected)); n != 3 {
		t.Errorf("upload_rejected %d times, want 3", n)
	}
	if len(dfp.Poisoned()) != 0 || len(dfp.Uploads()) != 1 {
		t.Errorf("DFP received %d uploads, poisoned %v; want only the good one", len(dfp.Uploads()), dfp.Poisoned())
	}
}

// DFP answers 200 even when its reload fails; the check on the proxy's TLS port tells.
func TestUploadThatHAProxyDoesNotServeIsReported(t *testing.T) {
	dfp := newStub(t)
	tlsPort, err := dfp.StartTLSFrontend()
	if err != nil {
		t.Fatal(err)
	}
	defer tlsPort.Close()
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	first, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	second, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))

	system, pid, logs := startUploaderChecking(t, dfp, tlsPort.Addr())
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: first})
	testkit.Eventually(t, "the first upload served", logs, func() bool { return len(logs.Events(event.CertificateServed)) == 1 })
	dfp.BreakReload()
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: second})
	testkit.Eventually(t, "the second upload reported as not served", logs, func() bool {
		return len(logs.Events(event.CertificateNotServed)) == 1
	})
}

// In Swarm DFP fans uploads out to every replica, and answers distribute=true with an empty body.
func TestUploaderDistributesInSwarm(t *testing.T) {
	dfp := newStub(t)
	dfp.SetInSwarm(true)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	bundle, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	system, pid, logs := startUploader(t, dfp)
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: bundle})
	testkit.Eventually(t, "the upload", logs, func() bool { return len(logs.Events(event.CertificateUploaded)) == 1 })
	if ups := dfp.Uploads(); len(ups) != 1 || !ups[0].Distribute || len(logs.Events(event.DistributeDisabled)) != 0 {
		t.Fatalf("uploads %+v, distribute_disabled %d; want one distributed upload", ups, len(logs.Events(event.DistributeDisabled)))
	}
}

// A refused distribution (a transient DNS failure in DFP) is tried again later, not given up for
// the life of the process.
func TestUploaderTriesDistributionAgain(t *testing.T) {
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	a, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	b, _ := ca.Bundle([]string{"b.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) { c.DistributeRetry = 200 * time.Millisecond })
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: a})
	testkit.Eventually(t, "a uploaded to one replica", logs, func() bool { return len(logs.Events(event.CertificateUploaded)) == 1 })
	dfp.SetInSwarm(true) // DFP's lookup works again
	time.Sleep(300 * time.Millisecond)
	system.Root.Send(pid, &messages.DeployCertificate{Name: "b.example.com", Bundle: b})
	testkit.Eventually(t, "distribution restored", logs, func() bool { return len(logs.Events(event.DistributeRestored)) == 1 })
	ups := dfp.Uploads()
	if last := ups[len(ups)-1]; last.CertName != "b.example.com.pem" || !last.Distribute {
		t.Fatalf("last upload = %s distribute=%v, want b.example.com.pem distributed", last.CertName, last.Distribute)
	}
	if d := logs.Events(event.DistributeDisabled); len(d) != 1 || d[0]["retry_at"] == nil {
		t.Errorf("distribute_disabled = %v, want once with retry_at", d)
	}
}

// A reload that failed once (DFP said 200, HAProxy kept the old certificate) is healed: the name
// is uploaded again after a backoff and then served.
func TestUploadThatHAProxyDoesNotServeIsUploadedAgain(t *testing.T) {
	dfp := newStub(t)
	tlsPort, err := dfp.StartTLSFrontend()
	if err != nil {
		t.Fatal(err)
	}
	defer tlsPort.Close()
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	first, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	second, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	system, pid, logs := startUploaderChecking(t, dfp, tlsPort.Addr())
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: first})
	testkit.Eventually(t, "the first upload served", logs, func() bool { return len(logs.Events(event.CertificateServed)) == 1 })
	dfp.SkipReloads(1)
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: second})
	testkit.Eventually(t, "the second certificate served after an upload again", logs, func() bool {
		return len(logs.Events(event.CertificateServed)) == 2
	})
	if n := len(dfp.Uploads()); n != 3 {
		t.Errorf("%d uploads, want 3 (first, second, second again)", n)
	}
	if ns := logs.Events(event.CertificateNotServed); len(ns) != 1 || ns[0]["retry_at"] == nil {
		t.Errorf("certificate_not_served = %v, want once with retry_at", ns)
	}
}

// While HAProxy's reloads keep failing, the uploads to heal it are bounded: a few with a growing
// backoff, then one per reconciliation.
func TestNotServedRetriesAreBounded(t *testing.T) {
	dfp := newStub(t)
	tlsPort, err := dfp.StartTLSFrontend()
	if err != nil {
		t.Fatal(err)
	}
	defer tlsPort.Close()
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	first, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	second, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(48*time.Hour))
	book := served.NewBook(true)
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) { c.ServeCheckAddr, c.Book = tlsPort.Addr(), book })
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: first})
	testkit.Eventually(t, "the first upload served", logs, func() bool { return len(logs.Events(event.CertificateServed)) == 1 })
	if s, _ := book.Of("a.example.com"); s.State != served.Served || s.LastServed.IsZero() {
		t.Fatalf("a served certificate's book entry is %+v", s)
	}
	dfp.BreakReload()
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: second})
	testkit.Eventually(t, "the retries to stop", logs, func() bool {
		return len(logs.Events(event.CertificateNotServed)) == queue.MaxNotServedRetries+1
	})
	time.Sleep(500 * time.Millisecond) // backoffs here are 20 ms to 100 ms: any further retry would show
	if n := len(dfp.Uploads()); n != 2+queue.MaxNotServedRetries {
		t.Fatalf("%d uploads while reloads fail, want %d (first, second, %d retries)", n, 2+queue.MaxNotServedRetries, queue.MaxNotServedRetries)
	}
	if s, _ := book.Of("a.example.com"); s.State != served.NotServed || s.Ready(true) {
		t.Errorf("the book for /metrics says %+v, want not served", s)
	}
	last := logs.Events(event.CertificateNotServed)[queue.MaxNotServedRetries]
	if at, err := time.Parse(time.RFC3339Nano, last["retry_at"].(string)); err != nil || time.Until(at) < 50*time.Minute {
		t.Errorf("the last not_served says retry_at %v (%v), want the next reconciliation an hour away", last["retry_at"], err)
	}
}

// Stored certificates (a start) are compared with DFP's list before any upload: only what DFP
// lacks is uploaded, and a reconciliation with nothing changed uploads nothing.
func TestStoredCertificatesAreComparedBeforeUploading(t *testing.T) {
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	held, _ := ca.Bundle([]string{"held.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	lost, _ := ca.Bundle([]string{"lost.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	dfp.PutRaw("held.example.com.pem", held)
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) { c.SettleDelay = 50 * time.Millisecond })
	system.Root.Send(pid, &messages.DeployCertificate{Name: "held.example.com", Bundle: held, Stored: true})
	system.Root.Send(pid, &messages.DeployCertificate{Name: "lost.example.com", Bundle: lost, Stored: true})
	testkit.Eventually(t, "the missing one uploaded", logs, func() bool { return len(dfp.Uploads()) == 1 })
	system.Root.Send(pid, &messages.ReconcileNow{})
	time.Sleep(300 * time.Millisecond) // the reconciliation lists DFP and finds nothing to do
	if n := len(logs.Events(event.ReconcileUpload)); n != 1 {
		t.Errorf("reconcile_upload logged %d times, want once (for the missing one)", n)
	}
	ups := dfp.Uploads()
	if len(ups) != 1 || ups[0].CertName != "lost.example.com.pem" {
		t.Fatalf("uploads %v, want only lost.example.com.pem", ups)
	}
}

// A proxy port that accepts connections and never answers (a hung HAProxy) is found not served by
// the watch, within a handshake's bound, not lost with the round.
func TestWatchFindsAHungProxyNotServed(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent, until the test ends
		}
	}()
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	pem, _ := ca.Bundle([]string{"a.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	dfp.Load("a.example.com.pem", pem)
	book := served.NewBook(true)
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) {
		c.ServeCheckAddr, c.WatchInterval, c.Book, c.SettleDelay, c.Timeout = hung.Addr().String(), 200*time.Millisecond, book, 50*time.Millisecond, 30*time.Second
	})
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: pem, Stored: true})
	testkit.Eventually(t, "the hung proxy found not serving the name", logs, func() bool {
		s, _ := book.Of("a.example.com")
		return s.State == served.NotServed
	})
}

// With a store to read from, the uploader holds no PEM for a name with nothing to upload: what it
// learned at the start, or uploaded, is kept compact, and an upload later reads the store, which
// must hold the very bytes that were checked. Without the store's copy the upload fails and is
// retried, and nothing else reaches DFP.
func TestCompactNamesUploadFromTheStore(t *testing.T) {
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	lost, _ := ca.Bundle([]string{"lost.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	moved, _ := ca.Bundle([]string{"moved.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	other, _ := ca.Bundle([]string{"moved.example.com"}, now.Add(-time.Hour), now.Add(25*time.Hour))
	var mu sync.Mutex
	stored := map[string][]byte{"lost.example.com": lost, "moved.example.com": moved}
	var loads atomic.Int32
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) {
		c.SettleDelay = 50 * time.Millisecond
		c.Load = func(name string) ([]byte, error) {
			loads.Add(1)
			mu.Lock()
			defer mu.Unlock()
			return stored[name], nil
		}
	})
	mu.Lock()
	stored["moved.example.com"] = other // replaced in the store after the start read it
	mu.Unlock()
	system.Root.Send(pid, &messages.DeployCertificate{Name: "lost.example.com", Bundle: lost, Stored: true})
	system.Root.Send(pid, &messages.DeployCertificate{Name: "moved.example.com", Bundle: moved, Stored: true})
	testkit.Eventually(t, "lost.example.com uploaded from the store", logs, func() bool { return len(dfp.Uploads()) == 1 })
	testkit.Eventually(t, "moved.example.com's upload refused", logs, func() bool {
		for _, e := range logs.Events(event.UploadFailed) {
			if e["domain"] == "moved.example.com" && strings.Contains(e["error"].(string), "another certificate") {
				return true
			}
		}
		return false
	})
	ups := dfp.Uploads()
	if len(ups) != 1 || ups[0].CertName != "lost.example.com.pem" || !bytes.Equal(ups[0].Body, lost) {
		t.Fatalf("uploads %v, want lost.example.com.pem exactly as stored", ups)
	}
	if loads.Load() < 2 {
		t.Errorf("the store was read %d times, want at least once per name", loads.Load())
	}
}

// A certificate the store could not keep (the CA issued it, the write failed) keeps its PEM in
// the uploader: when DFP loses it, it is uploaded again from memory.
func TestUnstoredCertificateKeepsItsPEM(t *testing.T) {
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	now := time.Now()
	unsaved, _ := ca.Bundle([]string{"unsaved.example.com"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) {
		c.Load = func(string) ([]byte, error) { return nil, os.ErrNotExist }
	})
	system.Root.Send(pid, &messages.DeployCertificate{Name: "unsaved.example.com", Bundle: unsaved})
	testkit.Eventually(t, "the first upload", logs, func() bool { return len(dfp.Uploads()) == 1 })
	dfp.Lose("unsaved.example.com.pem")
	system.Root.Send(pid, &messages.ReconcileNow{})
	testkit.Eventually(t, "the upload again, from memory", logs, func() bool { return len(dfp.Uploads()) == 2 })
	if ups := dfp.Uploads(); !bytes.Equal(ups[1].Body, unsaved) {
		t.Errorf("uploaded again %q, want the certificate the store lacks", ups[1].Body)
	}
}

// The comparison runs on what was known when DFP's list was asked for: a name whose certificate
// expired then, and got a new one while the list was on its way, keeps the new one.
func TestRenewalDuringAComparisonIsKept(t *testing.T) {
	dfp := newStub(t)
	ca, _ := certgen.NewCA("test")
	start := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	old, _ := ca.Bundle([]string{"a.example.com"}, start.Add(-time.Hour), start.Add(time.Hour))
	renewed, _ := ca.Bundle([]string{"a.example.com"}, start.Add(-time.Hour), start.Add(48*time.Hour))
	system, pid, logs := startUploaderWith(t, dfp, func(c *Config) { c.Now = clock })
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: old})
	testkit.Eventually(t, "the first upload", logs, func() bool { return len(dfp.Uploads()) == 1 })
	offset.Store(int64(2 * time.Hour))                   // the first certificate has expired
	dfp.SetFaults(dfpstub.Faults{Hang: 3 * time.Second}) // under the uploader's timeout
	system.Root.Send(pid, &messages.ReconcileNow{})
	time.Sleep(200 * time.Millisecond) // the list is asked for, and held
	system.Root.Send(pid, &messages.DeployCertificate{Name: "a.example.com", Bundle: renewed})
	time.Sleep(100 * time.Millisecond) // the renewal is queued, its upload held by DFP
	dfp.SetFaults(dfpstub.Faults{})
	testkit.Eventually(t, "the renewal uploaded and the list answered", logs, func() bool {
		return len(dfp.Uploads()) == 2 && dfp.CertListings() == 1
	})
	time.Sleep(100 * time.Millisecond) // the comparison is acted on
	offset.Add(int64(time.Minute))     // a later list than the renewal's upload
	dfp.Lose("a.example.com.pem")
	system.Root.Send(pid, &messages.ReconcileNow{})
	testkit.Eventually(t, "the renewal uploaded again after DFP lost it", logs, func() bool { return len(dfp.Uploads()) == 3 })
	if ups := dfp.Uploads(); !bytes.Equal(ups[2].Body, renewed) {
		t.Errorf("uploaded again %q, want the renewal", ups[2].Body)
	}
}
