package ratelimiter

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// An unreadable ledger is set aside, not overwritten, and the limiter still answers.
func TestCorruptLedgerIsSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.json")
	if err := os.WriteFile(path, []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	defer system.Shutdown()
	pid := system.Root.Spawn(Props(Config{Table: limits.Production, Ledger: store.FileBlob(path), Concurrency: 1, Lease: time.Minute, Logger: logger, Now: time.Now}))

	reply, err := system.Root.RequestFuture(pid, &messages.PermitRequest{Name: "a.example.com"}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reply.(*messages.PermitGranted); !ok {
		t.Fatalf("reply = %#v, want a grant", reply)
	}
	if len(logs.Events(event.LedgerCorrupt)) != 1 {
		t.Errorf("ledger_corrupt not logged; log:\n%s", logs.String())
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt ledger not set aside: %v", aside)
	}
	if data, _ := os.ReadFile(aside[0]); string(data) != "{torn" {
		t.Errorf("the set-aside copy changed: %q", data)
	}
}

// restart makes protoactor restart the actor in place, as after a panic in Receive.
func restart(system *actor.ActorSystem, pid *actor.PID) {
	p, _ := system.ProcessRegistry.Get(pid)
	p.SendSystemMessage(pid, &actor.Restart{})
}

// holder is a certificate actor as the limiter sees it: it asks, and keeps what it is told.
type holder struct{ got chan any }

func (h *holder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.PermitGranted, *messages.PermitDeferred:
		h.got <- msg
	}
}

func startLimiter(t *testing.T, path string, concurrency int) (*actor.ActorSystem, *actor.Props) {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(&testkit.LogBuffer{}, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	return system, Props(Config{Table: limits.Production, Ledger: store.FileBlob(path), Concurrency: concurrency, Lease: time.Hour, Logger: logger, Now: time.Now})
}

func answer(t *testing.T, h *holder) any {
	t.Helper()
	select {
	case m := <-h.got:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no answer from the limiter")
		return nil
	}
}

// A limiter restarted in place (its siblings ran on) keeps who waits for a slot: the waiting
// actor gets its grant when the slot frees, without asking again.
func TestRestartedLimiterKeepsItsWaiters(t *testing.T) {
	system, props := startLimiter(t, filepath.Join(t.TempDir(), "ledger.json"), 1)
	pid := system.Root.Spawn(props)
	a, b := &holder{got: make(chan any, 4)}, &holder{got: make(chan any, 4)}
	aPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a }))
	bPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return b }))
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "a.example.com", Permit: "a1"}, aPID)
	if g, ok := answer(t, a).(*messages.PermitGranted); !ok || g.Permit != "a1" {
		t.Fatalf("a's answer = %#v, want its grant", g)
	}
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "b.example.com", Permit: "b1"}, bPID)
	time.Sleep(50 * time.Millisecond) // b waits for the one slot

	restart(system, pid)
	system.Root.Send(pid, &messages.OrderFinished{Name: "a.example.com", Permit: "a1", Outcome: messages.OutcomeIssued})
	if g, ok := answer(t, b).(*messages.PermitGranted); !ok || g.Permit != "b1" {
		t.Fatalf("b's answer after the restart = %#v, want its grant", g)
	}
}

// A granted order whose holder is gone: after the supervisor's restart (same process, the order
// may still run and issue) it stays spent and the name books anew; in the next process (no order
// survives a process) the name's next order takes the booking over.
func TestGrantedOrdersOfHoldersThatAreGone(t *testing.T) {
	const name = "a.example.com"
	for _, c := range []struct {
		what   string
		tokens time.Duration // exact-set spend after the second grant, in intervals
	}{{"after the supervisor restarted", 2}, {"in the next process", 1}} {
		t.Run(c.what, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.json")
			system, props := startLimiter(t, path, 1)
			pid := system.Root.Spawn(props)
			a := &holder{got: make(chan any, 4)}
			aPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a }))
			system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: name, Permit: "old", Renewal: true}, aPID)
			if _, ok := answer(t, a).(*messages.PermitGranted); !ok {
				t.Fatal("no grant")
			}
			_ = system.Root.StopFuture(pid).Wait() // the holder's answer never comes

			if c.tokens == 1 {
				system, props = startLimiter(t, path, 1) // the next process reads the same ledger
			}
			pid = system.Root.Spawn(props)
			b := &holder{got: make(chan any, 4)}
			bPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return b }))
			system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: name, Permit: "new", Renewal: true}, bPID)
			if g, ok := answer(t, b).(*messages.PermitGranted); !ok || g.Permit != "new" {
				t.Fatalf("answer = %#v, want a grant: the old holder is gone", g)
			}
			_ = system.Root.StopFuture(pid).Wait()
			lim := named(t, limits.Production, messages.LimitCertificatesPerExactSet)
			tat := readLedger(t, path).TAT["certificates_per_exact_set|"+name]
			if spent := time.Until(tat); spent <= (c.tokens-1)*lim.Interval() || spent > c.tokens*lim.Interval() {
				t.Fatalf("exact-set bucket holds %s of spend, want %d orders' worth", spent, c.tokens)
			}
		})
	}
}

func readLedger(t *testing.T, path string) Ledger {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var l Ledger
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// A burst of requests costs one ledger write, not one per request, and still no grant leaves
// before the write that books it.
func TestABurstOfRequestsIsOneLedgerWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	logger := slog.New(slog.NewJSONHandler(&testkit.LogBuffer{}, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	var writes atomic.Int64
	props := Props(Config{Table: limits.Staging, Ledger: store.FileBlob(path), Concurrency: 1000, Lease: time.Hour, Logger: logger, Now: time.Now, Writes: &writes})

	const burst = 300
	h := &holder{got: make(chan any, burst)}
	hPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return h }))
	pid := system.Root.Spawn(props)
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "warm.example.com", Permit: "p"}, hPID)
	answer(t, h)
	// The whole burst waits in the mailbox, as when every certificate actor asks at a start.
	p, _ := system.ProcessRegistry.Get(pid)
	p.SendSystemMessage(pid, &actor.SuspendMailbox{})
	for i := 0; i < burst; i++ {
		name := fmt.Sprintf("n%d.example.com", i)
		system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: name, Permit: "p"}, hPID)
	}
	before := writes.Load()
	p.SendSystemMessage(pid, &actor.ResumeMailbox{})
	for i := 0; i < burst; i++ {
		if _, ok := answer(t, h).(*messages.PermitGranted); !ok {
			t.Fatal("a request was not granted")
		}
	}
	// One more request, answered after everything the burst left in the mailbox.
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "last.example.com", Permit: "p"}, hPID)
	answer(t, h)
	if n := writes.Load() - before; n != 2 {
		t.Fatalf("a burst of %d requests and one more cost %d ledger writes, want 2", burst, n)
	}
	if got := readLedger(t, path); len(got.Reservations) != burst+2 {
		t.Fatalf("the ledger books %d of the %d granted orders", len(got.Reservations), burst)
	}
}

// Requests that trickle in, as orders finish one by one in a bulk issuance, share writes spaced by
// WriteEvery instead of writing the whole ledger once each.
func TestTricklingRequestsShareSpacedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	logger := slog.New(slog.NewJSONHandler(&testkit.LogBuffer{}, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	var writes atomic.Int64
	pid := system.Root.Spawn(Props(Config{Table: limits.Staging, Ledger: store.FileBlob(path), Concurrency: 100, Lease: time.Hour,
		Logger: logger, Now: time.Now, Writes: &writes, WriteEvery: 2 * time.Second}))
	h := &holder{got: make(chan any, 100)}
	hPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return h }))
	const trickle = 20
	for i := 0; i < trickle; i++ {
		system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: fmt.Sprintf("t%d.example.com", i), Permit: "p"}, hPID)
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < trickle; i++ {
		if _, ok := answer(t, h).(*messages.PermitGranted); !ok {
			t.Fatal("a request was not granted")
		}
	}
	// The start's own write and the first request's may be one or two; the rest share one.
	if n := writes.Load(); n > 3 {
		t.Fatalf("%d requests 20 ms apart cost %d ledger writes, want at most 3", trickle, n)
	}
	if got := readLedger(t, path); len(got.Reservations) != trickle {
		t.Fatalf("the ledger books %d of the %d granted orders", len(got.Reservations), trickle)
	}
}

func TestNextWrite(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		last  time.Time
		every time.Duration
		want  time.Duration
	}{
		{"never written", time.Time{}, time.Second, 0},
		{"no spacing", now, 0, 0},
		{"written just now", now, time.Second, time.Second},
		{"written a while ago", now.Add(-300 * time.Millisecond), time.Second, 700 * time.Millisecond},
		{"written longer ago than every", now.Add(-time.Hour), time.Second, 0},
	}
	for _, c := range cases {
		if got := NextWrite(c.last, now, c.every); got != c.want {
			t.Errorf("%s: NextWrite = %s, want %s", c.name, got, c.want)
		}
	}
}

// A report that waits for a spaced write is written when the limiter stops: the next process reads
// the ledger from disk, and an issuance it did not see would be counted nowhere.
func TestAStoppingLimiterWritesWhatItHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	logger := slog.New(slog.NewJSONHandler(&testkit.LogBuffer{}, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	pid := system.Root.Spawn(Props(Config{Table: limits.Staging, Ledger: store.FileBlob(path), Concurrency: 10, Lease: time.Hour,
		Logger: logger, Now: time.Now, WriteEvery: 2 * time.Second})) // the grant may wait for the start's write
	h := &holder{got: make(chan any, 10)}
	hPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return h }))
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "a.example.com", Permit: "a1"}, hPID)
	if _, ok := answer(t, h).(*messages.PermitGranted); !ok {
		t.Fatal("not granted")
	}
	granted := readLedger(t, path)
	system.Root.Send(pid, &messages.OrderFinished{Name: "a.example.com", Permit: "a1", Outcome: messages.OutcomeIssued})
	// A stop is a system message and would overtake the report; the ping's answer says it was handled.
	if _, err := system.Root.RequestFuture(pid, &messages.Ping{}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(readLedger(t, path), granted) {
		t.Fatal("the report was written at once; this test needs it held for a spaced write")
	}
	if err := system.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(readLedger(t, path), granted) {
		t.Fatal("the order's report was not written before the limiter stopped")
	}
}

// On etcd, a ledger another writer saved meanwhile is not overwritten: the limiter's write is
// refused, and it writes both ledgers' bookings instead.
func TestALedgerChangedByAnotherWriterIsMerged(t *testing.T) {
	e, err := etcdtest.Start(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	client, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	kv := &etcdkv.KV{Client: client, Prefix: "/test/", Timeout: 5 * time.Second}
	mine, theirs := store.OpenKV(kv, "https://ca.test/dir").Ledger(), store.OpenKV(kv, "https://ca.test/dir").Ledger()

	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	pid := system.Root.Spawn(Props(Config{Table: limits.Staging, Ledger: mine, Concurrency: 10, Lease: time.Hour, Logger: logger, Now: time.Now}))
	h := &holder{got: make(chan any, 10)}
	hPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return h }))
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "first.example.com", Permit: "p"}, hPID)
	if _, ok := answer(t, h).(*messages.PermitGranted); !ok {
		t.Fatal("not granted")
	}

	// Another writer books an order the limiter has not seen.
	if _, err := theirs.Load(); err != nil {
		t.Fatal(err)
	}
	other := Ledger{TAT: map[string]time.Time{"elsewhere|x": time.Now().Add(time.Hour).UTC()},
		Reservations: map[string]Reservation{"other.example.com": {At: time.Now().UTC(), Granted: true}}}
	data, _ := json.Marshal(other)
	if err := theirs.Save(data); err != nil {
		t.Fatal(err)
	}

	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "second.example.com", Permit: "p"}, hPID)
	if _, ok := answer(t, h).(*messages.PermitGranted); !ok {
		t.Fatal("not granted after the other writer's save")
	}
	data, err = theirs.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got Ledger
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"first.example.com", "second.example.com", "other.example.com"} {
		if _, ok := got.Reservations[name]; !ok {
			t.Errorf("the ledger lost %s: %s", name, data)
		}
	}
	if _, ok := got.TAT["elsewhere|x"]; !ok {
		t.Errorf("the other writer's booking was lifted: %s", data)
	}
	if len(logs.Events(event.LedgerMerged)) != 1 {
		t.Errorf("want one ledger_merged; log:\n%s", logs.String())
	}
}

// A ledger that is torn or missing while the store holds certificates is rebuilt from them before
// any grant: five certificates of one name this week leave no room for a sixth.
func TestLostLedgerIsRebuiltFromTheStoredCertificates(t *testing.T) {
	for _, c := range []struct {
		name   string
		ledger []byte // nil: no file
	}{{"torn", []byte(`{"tat":{"new_orders_per_account|account":"2026-`)}, {"missing", nil}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.json")
			if c.ledger != nil {
				if err := os.WriteFile(path, c.ledger, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var bookings []Booking
			for i := 0; i < 5; i++ {
				bookings = append(bookings, Booking{Name: "a.example.com", At: time.Now().Add(-time.Duration(i+1) * time.Hour)})
			}
			logs := &testkit.LogBuffer{}
			logger := slog.New(slog.NewJSONHandler(logs, nil))
			system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
			defer system.Shutdown()
			pid := system.Root.Spawn(Props(Config{Table: limits.Production, Ledger: store.FileBlob(path), Concurrency: 1, Lease: time.Minute,
				Logger: logger, Now: time.Now, Issued: func() ([]Booking, error) { return bookings, nil }}))
			reply, err := system.Root.RequestFuture(pid, &messages.PermitRequest{Name: "a.example.com"}, 5*time.Second).Result()
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := reply.(*messages.PermitDeferred); !ok || d.Reason != messages.LimitCertificatesPerExactSet {
				t.Fatalf("reply = %#v, want deferred by the exact-set limit", reply)
			}
			if len(logs.Events(event.LedgerRebuilt)) != 1 {
				t.Errorf("ledger_rebuilt not logged; log:\n%s", logs.String())
			}
		})
	}
}
