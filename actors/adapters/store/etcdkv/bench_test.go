package etcdkv

import (
	"fmt"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
)

// The cost of one store operation on etcd against the file layout, each durable (etcd's fsync
// on, WriteFileAtomic's fsyncs), with 1,000 bundles of 3.5 KB held; etcd in-process on loopback.
//
//	go test -run '^$' -bench . -benchtime 200x ./actors/adapters/store/etcdkv
func BenchmarkKV(b *testing.B) {
	value := make([]byte, 3500)
	backends := map[string]func(b *testing.B) store.KV{
		"files": func(b *testing.B) store.KV { return store.Files{Root: b.TempDir()} },
		"etcd": func(b *testing.B) store.KV {
			return &KV{Client: startEtcdDurable(b), Prefix: "/bench/", Timeout: 10 * time.Second}
		},
	}
	for _, name := range []string{"files", "etcd"} {
		kv := backends[name](b)
		for i := range 1000 { // the names a large installation holds
			if err := kv.Put(fmt.Sprintf("certificates/ca/n%d.test/bundle.pem", i), value); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name+"/put", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if err := kv.Put(fmt.Sprintf("certificates/ca/n%d.test/bundle.pem", i%1000), value); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/get", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := kv.Get(fmt.Sprintf("certificates/ca/n%d.test/bundle.pem", i%100)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/list-1000", func(b *testing.B) {
			for b.Loop() {
				if keys, err := kv.List("certificates/"); err != nil || len(keys) != 1000 {
					b.Fatal(len(keys), err)
				}
			}
		})
	}
}
