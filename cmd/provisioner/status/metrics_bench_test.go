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
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
)

// BenchmarkMetricsScrape is the cost of one /metrics scrape's name and bucket series with 1000
// names in DATA_DIR, and in etcd read from the store (as "provisioner status" does beside a
// stopped service) and from the actors' view (as the running service's /metrics does):
//
//	go test -run '^$' -bench MetricsScrape -benchtime 20x ./cmd/provisioner/status
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
		benchmarkScrape(b, cfg, st, false)
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
		st := store.OpenKV(&etcdkv.KV{Client: client, Prefix: "/bench/", Timeout: 5 * time.Second}, cfg.DirectoryURL)
		b.Run("store", func(b *testing.B) { benchmarkScrape(b, cfg, st, false) })
		b.Run("live", func(b *testing.B) { benchmarkScrape(b, cfg, st, true) })
	})
}

// benchmarkScrape scrapes 1000 names from st, or with live from the actors' view of them as the
// running service does (the store then gives only the name list, the ledger and presence).
func benchmarkScrape(b *testing.B, cfg config.Config, st *store.Store, withLive bool) {
	const names = 1000
	ca, err := certgen.NewCA("bench")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	live := certificate.NewLive()
	for i := 0; i < names; i++ {
		name := fmt.Sprintf("n%04d.example.com", i)
		pem, err := ca.Bundle([]string{name}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		if err := st.SaveBundle(name, pem); err != nil {
			b.Fatal(err)
		}
		if withLive {
			parsed, err := bundle.Parse(pem)
			if err != nil {
				b.Fatal(err)
			}
			live.Put(name, parsed, store.State{})
		}
	}
	reg := prometheus.NewRegistry()
	collector := Collector{cfg: cfg, store: st, cache: &Cache{}, now: time.Now}
	if withLive {
		collector.live = live
	}
	reg.MustRegister(collector)
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
