package etcdkv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/kvtest"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

const prefix = "/dfp-letsencrypt/"

func campaign(t *testing.T, c *clientv3.Client, identity string) *Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	term, err := Campaign(ctx, c, prefix, 2*time.Second, identity)
	if err != nil {
		t.Fatal(err)
	}
	return term
}

// The KV suite again, every write carrying a live term's fence.
func TestFencedKVPassesTheSuite(t *testing.T) {
	c := startEtcd(t)
	fence := campaign(t, c, "a").Fence()
	var n atomic.Int64
	kvtest.Run(t, func(*testing.T) store.KV {
		return &KV{Client: c, Prefix: fmt.Sprintf("/fenced-%d/", n.Add(1)), Timeout: 5 * time.Second, Fence: fence}
	})
}

// One leader at a time: the second campaign waits for the first term to end, and from then on the
// first term's writes are refused, whatever they are.
func TestOnlyTheLeaderWrites(t *testing.T) {
	c := startEtcd(t)
	first := campaign(t, c, "replica-a")
	if who, err := Leader(context.Background(), c, prefix); err != nil || who != "replica-a" {
		t.Fatalf("Leader = %q, %v", who, err)
	}
	won := make(chan *Term, 1)
	go func() {
		term, err := Campaign(context.Background(), c, prefix, 2*time.Second, "replica-b")
		if err != nil {
			t.Error(err)
		}
		won <- term
	}()
	select {
	case <-won:
		t.Fatal("a second replica led while the first's term was live")
	case <-time.After(500 * time.Millisecond):
	}
	oldKV := &KV{Client: c, Prefix: prefix, Timeout: 5 * time.Second, Fence: first.Fence()}
	if err := oldKV.Put("certs/a.test.pem", []byte("a")); err != nil {
		t.Fatalf("the leader's write: %v", err)
	}

	first.Resign(context.Background())
	var second *Term
	select {
	case second = <-won:
	case <-time.After(10 * time.Second):
		t.Fatal("the second replica did not lead after the first resigned")
	}
	defer second.Resign(context.Background())
	if who, _ := Leader(context.Background(), c, prefix); who != "replica-b" {
		t.Errorf("Leader = %q after the handover", who)
	}
	for what, write := range map[string]func() error{
		"put":    func() error { return oldKV.Put("certs/a.test.pem", []byte("stale")) },
		"delete": func() error { return oldKV.Delete("certs/a.test.pem") },
		"versioned put": func() error {
			_, err := oldKV.PutIfVersion("ratelimits/x.json", []byte("{}"), 0)
			return err
		},
	} {
		if err := write(); !errors.Is(err, ErrNotLeader) {
			t.Errorf("the old leader's %s = %v, want ErrNotLeader", what, err)
		}
	}
	newKV := &KV{Client: c, Prefix: prefix, Timeout: 5 * time.Second, Fence: second.Fence()}
	if got, err := newKV.Get("certs/a.test.pem"); err != nil || string(got) != "a" {
		t.Errorf("after the old leader's refused writes the value is %q, %v", got, err)
	}
	if err := newKV.Put("certs/a.test.pem", []byte("b")); err != nil {
		t.Errorf("the new leader's write: %v", err)
	}
}

// A leader killed without resigning: its lease lapses after the TTL and the next replica leads.
func TestALapsedSessionEndsTheTerm(t *testing.T) {
	c := startEtcd(t)
	term := campaign(t, c, "replica-a")
	// What a SIGKILL does to the lease: nobody keeps it alive. Revoking is the same, sooner.
	if _, err := c.Revoke(context.Background(), term.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-term.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the term did not end when its lease went")
	}
	next := campaign(t, c, "replica-b")
	defer next.Resign(context.Background())
	kv := &KV{Client: c, Prefix: prefix, Timeout: 5 * time.Second, Fence: term.Fence()}
	if err := kv.Put("x", []byte("x")); !errors.Is(err, ErrNotLeader) {
		t.Errorf("a write of the lapsed term = %v, want ErrNotLeader", err)
	}
}

// The ledger's writes are transactions on the revision last read: two writers that both read it
// cannot both write it; the second learns of the first instead of dropping its bookings.
func TestLedgerWritesNeverInterleave(t *testing.T) {
	c := startEtcd(t)
	kv := &KV{Client: c, Prefix: prefix, Timeout: 5 * time.Second}
	a, b := store.OpenKV(kv, "https://ca.test/dir").Ledger(), store.OpenKV(kv, "https://ca.test/dir").Ledger()
	for _, blob := range []store.Blob{a, b} {
		if _, err := blob.Load(); err == nil {
			t.Fatal("a new ledger exists")
		}
	}
	if err := a.Save([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.Save([]byte(`{"b":1}`)); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("the second writer's save over a ledger it did not read = %v, want ErrChanged", err)
	}
	if err := a.Save([]byte(`{"a":2}`)); err != nil {
		t.Fatalf("the first writer's next save: %v", err)
	}
	if data, err := b.Load(); err != nil || string(data) != `{"a":2}` {
		t.Fatalf("reload = %s, %v", data, err)
	}
	if err := b.Save([]byte(`{"a":2,"b":1}`)); err != nil {
		t.Fatalf("a save after reading the latest: %v", err)
	}
	// An unreadable ledger set aside: the next save writes it anew.
	if _, err := b.SetAside("1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Save([]byte(`{}`)); err != nil {
		t.Fatalf("a save after setting the ledger aside: %v", err)
	}
}

// What the leader publishes, every replica answers: at once (read-before-404), from its watch,
// and no longer once withdrawn or once the term's lease is gone.
func TestAnswersAreServedByEveryReplica(t *testing.T) {
	c := startEtcd(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	leader, follower := WatchAnswers(c, prefix, 5*time.Second, logger), WatchAnswers(c, prefix, 5*time.Second, logger)
	defer leader.Close()
	defer follower.Close()

	if err := leader.Publish("tok1", "tok1.key"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Publish without a term = %v, want ErrNotLeader", err)
	}
	term := campaign(t, c, "a")
	leader.Lead(term.Lease())
	if err := leader.Publish("tok1", "tok1.key"); err != nil {
		t.Fatal(err)
	}
	// A replica whose watch has not caught up yet reads etcd before it answers 404.
	behind := &Answers{client: c, key: prefix + answersKey, timeout: 5 * time.Second, seen: map[string]string{}, misses: newMisses(), now: time.Now}
	if got, ok := behind.Get("tok1"); !ok || got != "tok1.key" {
		t.Fatalf("a replica behind its watch answers %q, %v right after Publish", got, ok)
	}
	testkit.Eventually(t, "the follower's watch to hold tok1", nil, func() bool {
		follower.mu.RLock()
		defer follower.mu.RUnlock()
		return follower.seen["tok1"] == "tok1.key"
	})

	// Published twice (two names sharing an authorisation): answered until the second withdrawal.
	if err := leader.Publish("tok1", "tok1.key"); err != nil {
		t.Fatal(err)
	}
	leader.Withdraw("tok1")
	time.Sleep(200 * time.Millisecond)
	if _, ok := follower.Get("tok1"); !ok {
		t.Fatal("withdrawn while another order still used it")
	}
	leader.Withdraw("tok1")
	testkit.Eventually(t, "tok1 withdrawn everywhere", nil, func() bool {
		_, ok := follower.Get("tok1")
		return !ok
	})

	if err := leader.Publish("tok2", "tok2.key"); err != nil {
		t.Fatal(err)
	}
	term.Resign(context.Background()) // the lease goes, and its answers with it
	testkit.Eventually(t, "tok2 gone with the term's lease", nil, func() bool {
		_, ok := follower.Get("tok2")
		return !ok
	})
}
