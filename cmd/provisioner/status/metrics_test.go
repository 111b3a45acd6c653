package status

import (
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// The state collector reads a DATA_DIR as an earlier version wrote it (state and ledger without
// the newer fields), gives a removed name no series, and counts a certificate the proxy does not
// serve as not ready.
func TestStateCollector(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PROXY_ADDRESS": "proxy", "DATA_DIR": dir, "ACME_DIRECTORY": "https://ca.test/dir"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, cfg.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certgen.NewCA("collector")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, name := range []string{"kept.test", "gone.test", "unserved.test"} {
		pem, err := ca.Bundle([]string{name}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveBundle(name, pem); err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	files := map[string]string{
		st.PresencePath(): `{"last_seen":{"kept.test":"` + now.UTC().Format(time.RFC3339) + `","gone.test":"` + old + `","unserved.test":"` + now.UTC().Format(time.RFC3339) + `"}}`,
		// an earlier version's ledger: reservations without permit or slot
		st.LedgerPath(): `{"tat":{"new_orders_per_account|account":"` + now.Add(time.Hour).UTC().Format(time.RFC3339) + `"},"holds":{},"reservations":{"kept.test":{"at":"` + old + `","buckets":[],"granted":false}}}`,
	}
	for path, content := range files {
		if err := store.WriteFileAtomic(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	book := served.NewBook(true)
	book.Set("kept.test", served.Served, "", now)
	book.Set("unserved.test", served.NotServed, "no TLS", now)
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector{cfg: cfg, store: st, book: book, now: time.Now})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ready := map[string]float64{}
	for _, f := range families {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "name" && l.GetValue() == "gone.test" {
					t.Errorf("a removed name has a series: %s", f.GetName())
				}
				if l.GetName() == "name" && f.GetName() == "dfp_letsencrypt_certificate_ready_status" {
					ready[l.GetValue()] = m.Gauge.GetValue()
				}
			}
		}
	}
	if ready["kept.test"] != 1 || ready["unserved.test"] != 0 || len(ready) != 2 {
		t.Errorf("ready = %v, want kept.test 1 and unserved.test 0", ready)
	}
}

// However many scrape, the store is read about once a second: a scrape within reportReuse of the
// last report reuses it.
func TestScrapesReuseARecentReport(t *testing.T) {
	kv := &countingKV{Files: store.Files{Root: t.TempDir()}, reads: map[string]int{}}
	st := store.OpenKV(kv, "https://ca.test/dir")
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := now
	c := NewCollector(config.Config{DirectoryURL: "https://ca.test/dir"}, st, nil, nil, nil, slog.New(slog.DiscardHandler))
	c.now = func() time.Time { return clock }
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	ledgerReads := func() int { return kv.reads["ratelimits/ca.test-dir.json"] }
	for i := 0; i < 10; i++ {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	if n := ledgerReads(); n != 1 {
		t.Fatalf("10 scrapes within a second read the ledger %d times, want once", n)
	}
	clock = now.Add(reportReuse)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if n := ledgerReads(); n != 2 {
		t.Fatalf("a scrape a second later read the ledger %d times in all, want twice", n)
	}
}
