package ratelimiter

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// stalledKV is a store whose writes wait, while stalled, until released: etcd without a quorum.
type stalledKV struct {
	store.Files
	stalled atomic.Bool
	release chan struct{}
}

func (k *stalledKV) Put(key string, value []byte) error {
	if k.stalled.Load() {
		<-k.release
	}
	return k.Files.Put(key, value)
}

// A ledger write that takes long does not hold up the limiter's mailbox: the health check's ping
// is answered meanwhile, and the grant the write books still waits for it.
func TestASlowLedgerWriteLeavesTheMailboxFree(t *testing.T) {
	kv := &stalledKV{Files: store.Files{Root: t.TempDir()}, release: make(chan struct{})}
	ledger := store.OpenKV(kv, "https://ca.test/dir").Ledger()
	logger := slog.New(slog.NewJSONHandler(&testkit.LogBuffer{}, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	pid := system.Root.Spawn(Props(Config{Table: limits.Production, Ledger: ledger, Concurrency: 10, Lease: time.Hour, Logger: logger, Now: time.Now}))
	h := &holder{got: make(chan any, 10)}
	hPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return h }))
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "a.example.com", Permit: "p"}, hPID)
	answer(t, h)

	kv.stalled.Store(true)
	system.Root.RequestWithCustomSender(pid, &messages.PermitRequest{Name: "b.example.com", Permit: "p"}, hPID)
	if _, err := system.Root.RequestFuture(pid, &messages.Ping{}, time.Second).Result(); err != nil {
		t.Fatalf("the ping was not answered while the ledger write stalled: %v", err)
	}
	select {
	case m := <-h.got:
		t.Fatalf("%T left before the write that books it", m)
	case <-time.After(100 * time.Millisecond):
	}
	close(kv.release)
	if _, ok := answer(t, h).(*messages.PermitGranted); !ok {
		t.Fatal("not granted once the write ended")
	}
	data, err := ledger.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); !strings.Contains(got, "b.example.com") {
		t.Fatalf("the grant left, but the ledger does not book it: %s", got)
	}
}
