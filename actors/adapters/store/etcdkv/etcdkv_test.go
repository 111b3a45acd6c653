package etcdkv

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/kvtest"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
)

// startEtcd runs a real one-member etcd in the test process, on loopback, without fsync: a test's
// data need not survive a power cut.
func startEtcd(t testing.TB) *clientv3.Client { return startEtcdWith(t, false) }

// startEtcdDurable is startEtcd with fsync on, as in production, for the benchmarks.
func startEtcdDurable(t testing.TB) *clientv3.Client { return startEtcdWith(t, true) }

func startEtcdWith(t testing.TB, durable bool) *clientv3.Client {
	t.Helper()
	e, err := etcdtest.Start(t.TempDir(), durable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The KV suite every backend runs, on a real etcd; each run under a prefix of its own.
func TestEtcdKV(t *testing.T) {
	c := startEtcd(t)
	var n atomic.Int64
	kvtest.Run(t, func(*testing.T) store.KV {
		return &KV{Client: c, Prefix: fmt.Sprintf("/test-%d/", n.Add(1)), Timeout: 5 * time.Second}
	})
}

// The store, whole, on etcd.
func TestStoreOnEtcd(t *testing.T) {
	kv := &KV{Client: startEtcd(t), Prefix: "/dfp-letsencrypt/", Timeout: 5 * time.Second}
	st := store.OpenKV(kv, "https://ca.test/dir")
	if err := st.SaveBundle("*.wild.test", []byte("bundle")); err != nil {
		t.Fatal(err)
	}
	if names, err := st.Names(); err != nil || len(names) != 1 || names[0] != "*.wild.test" {
		t.Fatalf("Names = %v, %v", names, err)
	}
	if b, err := st.LoadBundle("*.wild.test"); err != nil || string(b) != "bundle" {
		t.Fatalf("LoadBundle = %q, %v", b, err)
	}
}
