package supervisor

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// stalledKV is a store whose listings and writes wait, while stalled, until released: etcd
// without a quorum.
type stalledKV struct {
	store.Files
	stalled atomic.Bool
	release chan struct{}
}

func (k *stalledKV) wait() {
	if k.stalled.Load() {
		<-k.release
	}
}

func (k *stalledKV) List(prefix string) ([]string, error) { k.wait(); return k.Files.List(prefix) }

func (k *stalledKV) Put(key string, value []byte) error { k.wait(); return k.Files.Put(key, value) }

// The store work of a discovery poll (the operator's retry requests, the last-seen record) runs
// off the supervisor's mailbox: while the store stalls, the health check's ping is still
// answered, and a retry request is passed on once it answers.
func TestAStalledStoreLeavesTheSupervisorAnswering(t *testing.T) {
	cfg, _, _, logs := supervised(t, actor.PropsFromProducer(func() actor.Actor {
		return listingDiscovery{names: []string{"a.example.com"}}
	}), Config{})
	kv := &stalledKV{Files: store.Files{Root: t.TempDir()}, release: make(chan struct{})}
	cfg.Store = store.OpenKV(kv, "https://ca.test/dir")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return cfg.Logger }))
	sup := system.Root.Spawn(Props(cfg))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(sup).Wait()
		system.Shutdown()
	})
	testkit.Eventually(t, "a.example.com managed", logs, func() bool { return len(logs.Events(event.CertificateUploaded)) > 0 })

	kv.stalled.Store(true)
	time.Sleep(100 * time.Millisecond) // polls meet the stalled store
	for range 3 {
		if _, err := system.Root.RequestFuture(sup, &messages.Ping{}, time.Second).Result(); err != nil {
			t.Fatalf("the supervisor did not answer its ping while the store stalled: %v", err)
		}
	}
	close(kv.release)
	if err := cfg.Store.RequestRetry("a.example.com"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the retry request passed on", logs, func() bool { return len(logs.Events(event.RetryRequested)) > 0 })
}
