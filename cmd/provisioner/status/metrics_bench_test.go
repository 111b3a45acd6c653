package status

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
)

// BenchmarkMetricsScrape is the cost of one /metrics scrape's name and bucket series with 1000
// names in DATA_DIR, and in etcd (each scrape reads the store, as "provisioner status" does):
//
//	go test -run '^$' -bench MetricsScrape -benchtime 20x ./cmd/provisioner/app
func BenchmarkMetricsScrape(b *testing.B) {
	dir := b.TempDir()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PROXY_ADDRESS": "proxy", "DATA_DIR": dir, "ACME_DIRECTORY": "https://ca.test/dir"}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("files", func(b *testing.B) {
		st, err := store.Open(dir, cfg.DirectoryURL)
		if err != nil {
			b.Fatal(err)
		}
		benchmarkScrape(b, cfg, st)
	})
	b.Run("etcd", func(b *testing.B) {
		e, err := etcdtest.Start(b.TempDir(), true)
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		client, err := e.Client()
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		benchmarkScrape(b, cfg, store.OpenKV(&etcdkv.KV{Client: client, Prefix: "/bench/", Timeout: 5 * time.Second}, cfg.DirectoryURL))
	})
}

func benchmarkScrape(b *testing.B, cfg config.Config, st *store.Store) {
	const names = 1000
	ca, err := certgen.NewCA("bench")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < names; i++ {
		name := fmt.Sprintf("n%04d.example.com", i)
		pem, err := ca.Bundle([]string{name}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		if err := st.SaveBundle(name, pem); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector{cfg: cfg, store: st, cache: &Cache{}, now: time.Now})
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		families, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		for _, f := range families {
			if _, err := expfmt.MetricFamilyToText(&buf, f); err != nil {
				b.Fatal(err)
			}
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}
