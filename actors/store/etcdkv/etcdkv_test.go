package etcdkv

import (
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/dfp-letsencrypt/provisioner/actors/store"
	"github.com/dfp-letsencrypt/provisioner/actors/store/kvtest"
)

// startEtcd runs a real one-member etcd in the test process, on loopback, without fsync: a test's
// data need not survive a power cut.
func startEtcd(t testing.TB) *clientv3.Client { return startEtcdWith(t, false) }

// startEtcdDurable is startEtcd with fsync on, as in production, for the benchmarks.
func startEtcdDurable(t testing.TB) *clientv3.Client { return startEtcdWith(t, true) }

func startEtcdWith(t testing.TB, durable bool) *clientv3.Client {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = !durable
	client, peer := loopbackURL(t), loopbackURL(t)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd did not become ready within 30s")
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{client.Host}, DialTimeout: 5 * time.Second, Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// loopbackURL is an http URL on a loopback port that was free a moment ago.
func loopbackURL(t testing.TB) url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return url.URL{Scheme: "http", Host: ln.Addr().String()}
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
