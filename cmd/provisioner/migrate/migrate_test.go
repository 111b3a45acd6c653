package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
)

func TestPlanKey(t *testing.T) {
	ca, err := certgen.NewCA("migrate")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	older, err := ca.Bundle([]string{"a.test"}, now.Add(-48*time.Hour), now.Add(40*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	newer, err := ca.Bundle([]string{"a.test"}, now.Add(-time.Hour), now.Add(89*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	const bundle, state = "certificates/ca/a.test/bundle.pem", "certificates/ca/a.test/state.json"
	cases := []struct {
		what        string
		key         string
		src, dst    []byte
		inDst, took bool
		want        string
	}{
		{"missing in etcd", bundle, older, nil, false, false, migrateCopy},
		{"missing in etcd, even an empty value", "retry-now/a.test", nil, nil, false, false, migrateCopy},
		{"the same", bundle, older, older, true, false, migrateSame},
		{"the file's certificate is newer", bundle, newer, older, true, false, migrateReplace},
		{"etcd's certificate is newer", bundle, older, newer, true, false, migrateKeep},
		{"as new as etcd's, other bytes", bundle, append(bytes.Clone(older), '\n'), older, true, false, migrateKeep},
		{"the file's certificate unreadable", bundle, []byte("junk"), older, true, false, migrateKeep},
		{"etcd's certificate unreadable", bundle, older, []byte("junk"), true, false, migrateReplace},
		{"a state follows its replaced certificate", state, []byte(`{"a":1}`), []byte(`{"b":1}`), true, true, migrateReplace},
		{"a state beside a kept certificate", state, []byte(`{"a":1}`), []byte(`{"b":1}`), true, false, migrateKeep},
		{"two ledgers", "ratelimits/ca.json", []byte(`{}`), []byte(`{"tat":{}}`), true, false, migrateMerge},
		{"two accounts", "accounts/ca/account.key", []byte("k1"), []byte("k2"), true, false, migrateKeep},
		{"presence", "presence/ca.json", []byte(`{}`), []byte(`{"x":1}`), true, false, migrateKeep},
		{"the lock", ".lock", []byte("pid 1"), nil, false, false, migrateSkip},
		{"a temporary file", "certificates/ca/a.test/.bundle.pem.tmp-123", []byte("x"), nil, false, false, migrateSkip},
	}
	for _, c := range cases {
		if got, reason := planKey(c.key, c.src, c.dst, c.inDst, c.took); got != c.want {
			t.Errorf("%s: planKey = %s (%s), want %s", c.what, got, reason, c.want)
		}
	}
}

// A DATA_DIR moved into etcd: everything copied; run again, nothing changes; a ledger that etcd
// already has keeps both sides' bookings; and no migration runs while a replica leads.
func TestMigrateIntoEtcd(t *testing.T) {
	e, err := etcdtest.Start(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cfg := config.Config{DataDir: t.TempDir(), DirectoryURL: "https://ca.test/dir", Store: "etcd",
		Etcd: config.Etcd{Endpoints: []string{e.Endpoint}, Prefix: "/dfp-letsencrypt/", LeaseTTL: 2 * time.Second}}
	files, err := store.Open(cfg.DataDir, cfg.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certgen.NewCA("migrate")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.test", "*.wild.test"} {
		pem, err := ca.Bundle([]string{name}, time.Now().Add(-time.Hour), time.Now().Add(80*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := files.SaveBundle(name, pem); err != nil {
			t.Fatal(err)
		}
	}
	if err := files.RequestRetry("a.test"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	fileLedger := ratelimiter.Ledger{TAT: map[string]time.Time{"certificates_per_registered_domain|test": t0.Add(time.Hour)}}
	data, _ := json.Marshal(fileLedger)
	if err := files.Ledger().Save(data); err != nil {
		t.Fatal(err)
	}
	// etcd already has a ledger, with a booking of its own.
	client := dialTest(t, cfg)
	kv := &etcdkv.KV{Client: client, Prefix: cfg.Etcd.Prefix, Timeout: 5 * time.Second}
	etcdStore := store.OpenKV(kv, cfg.DirectoryURL)
	data, _ = json.Marshal(ratelimiter.Ledger{TAT: map[string]time.Time{"new_orders_per_account|account": t0.Add(time.Minute)}})
	if err := etcdStore.Ledger().Save(data); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 copied, 0 replaced, 1 merged") {
		t.Errorf("first run:\n%s", out.String())
	}
	names, err := etcdStore.Names()
	if err != nil || len(names) != 2 {
		t.Errorf("etcd holds %v, %v", names, err)
	}
	data, err = etcdStore.Ledger().Load()
	if err != nil {
		t.Fatal(err)
	}
	var merged ratelimiter.Ledger
	if err := json.Unmarshal(data, &merged); err != nil {
		t.Fatal(err)
	}
	if len(merged.TAT) != 2 {
		t.Errorf("merged ledger %s, want both bookings", data)
	}

	out.Reset()
	if err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 copied, 0 replaced, 0 merged, 4 already there") {
		t.Errorf("second run changed something:\n%s", out.String())
	}

	term, err := etcdkv.Campaign(context.Background(), client, cfg.Etcd.Prefix, 2*time.Second, "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	defer term.Resign(context.Background())
	if err := Run(context.Background(), cfg, &out); err == nil || !strings.Contains(err.Error(), "replica-a") {
		t.Errorf("a migration while replica-a leads: %v, want a refusal naming it", err)
	}
}

func dialTest(t *testing.T, cfg config.Config) *clientv3.Client {
	t.Helper()
	c, err := etcdkv.Dial(cfg.Etcd.Endpoints, cfg.Etcd.TLS, cfg.Etcd.Username, cfg.Etcd.Password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
