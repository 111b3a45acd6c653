package status

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

func TestBuildStatus(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ca, err := certgen.NewCA("status")
	if err != nil {
		t.Fatal(err)
	}
	issued := func(name string, notBefore time.Time, life time.Duration) *bundle.Bundle {
		return testkit.Bundle(t, ca, []string{name}, notBefore, notBefore.Add(life))
	}
	fresh := func(name string) *bundle.Bundle { return issued(name, now.Add(-24*time.Hour), 90*24*time.Hour) }
	table := limits.Production
	exact, _ := table.Named(messages.LimitCertificatesPerExactSet)
	deferredAt := now.Add(30 * time.Hour)
	ledger := ratelimiter.Ledger{
		TAT: map[string]time.Time{"certificates_per_exact_set|deferred.test": now.Add(5*exact.Interval() - time.Hour)},
		Reservations: map[string]ratelimiter.Reservation{
			"deferred.test": {At: deferredAt, Buckets: []string{"certificates_per_exact_set|deferred.test"}},
			"renewing.test": {At: now, Granted: true},
		},
	}
	names := []StoredName{
		{Name: "valid.test", Bundle: fresh("valid.test")},
		{Name: "due.test", Bundle: issued("due.test", now.Add(-80*24*time.Hour), 90*24*time.Hour)},
		{Name: "nothing.test"},
		{Name: "failing.test", Bundle: fresh("failing.test"), State: store.State{Failures: 2, LastError: "order failed:\n[failing.test] connection refused", NextAttempt: now.Add(time.Hour)}},
		{Name: "paused.test", State: store.State{PausedURL: "https://ca.test/unpause"}},
		{Name: "deferred.test", Bundle: fresh("deferred.test")},
		{Name: "renewing.test", Bundle: fresh("renewing.test")},
		{Name: "gone.test", Bundle: fresh("gone.test"), Gone: true},
		{Name: "ari.test", Bundle: fresh("ari.test")},
	}
	ariBundle := names[len(names)-1].Bundle
	names[len(names)-1].State.ARI = &store.ARI{Certificate: ariBundle.Fingerprint(), RenewAt: now.Add(40 * 24 * time.Hour)}

	r := BuildStatus("ca.test-dir", names, ledger, table, now)
	var got []string
	byName := map[string]NameStatus{}
	for _, n := range r.Names {
		got = append(got, n.Name+"="+n.State)
		byName[n.Name] = n
	}
	want := []string{"paused.test=paused", "failing.test=failing", "deferred.test=deferred", "nothing.test=waiting",
		"due.test=waiting", "renewing.test=renewing", "ari.test=valid", "valid.test=valid", "gone.test=removed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("rows:\n got %v\nwant %v", got, want)
	}
	if d := byName["deferred.test"]; d.Limit != string(messages.LimitCertificatesPerExactSet) || !d.DeferredUntil.Equal(deferredAt) {
		t.Errorf("deferred row = %+v, want the exact-set limit and its booked time", d)
	}
	if a := byName["ari.test"]; a.RenewSource != "ari" || !a.RenewAt.Equal(now.Add(40*24*time.Hour)) {
		t.Errorf("ari row = %+v, want the CA's renewal time", a)
	}
	if v := byName["valid.test"]; v.RenewSource != "lifetime" || !v.NotAfter.Equal(names[0].Bundle.Leaf.NotAfter) {
		t.Errorf("valid row = %+v", v)
	}
	if len(r.Buckets) != 1 || r.Buckets[0].TokensLeft != 0 || len(r.Buckets[0].Queued) != 1 || r.Buckets[0].Queued[0].Name != "deferred.test" {
		t.Fatalf("buckets = %+v, want the exhausted exact-set bucket with deferred.test behind it", r.Buckets)
	}
	var out bytes.Buffer
	if err := r.WriteTable(&out, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\n[failing.test]") {
		t.Errorf("a row spans lines:\n%s", out.String())
	}
	for _, s := range []string{"paused.test", "unpause at https://ca.test/unpause", "certificates_per_exact_set|deferred.test", "0/5",
		"order failed: [failing.test] connection refused"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the table lacks %q:\n%s", s, out.String())
		}
	}
}

// A name that never got a certificate (the most urgent trouble) is listed from the last-seen
// record, with its state.
func TestLoadStatusListsNamesWithoutCertificates(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PROXY_ADDRESS": "proxy", "DATA_DIR": t.TempDir(), "ACME_DIRECTORY": "https://ca.test/dir"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.DataDir, cfg.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveState("nocert.test", store.State{Failures: 3, LastError: "no route"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := store.WriteFileAtomic(st.PresencePath(), []byte(`{"last_seen":{"nocert.test":"`+now.Format(time.RFC3339)+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Load(st, cfg, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Names) != 1 || r.Names[0].Name != "nocert.test" || r.Names[0].State != StateFailing || r.Names[0].Failures != 3 {
		t.Fatalf("names = %+v, want nocert.test failing 3 times", r.Names)
	}
}

// The scrape cache keeps the leaf's validity and fingerprint only, not a second full copy of what
// the certificate actors hold; the status built from it is the same.
func TestStatusCacheKeepsThinBundles(t *testing.T) {
	ca, err := certgen.NewCA("thin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pem, err := ca.Bundle([]string{"thin.example.com"}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	full, err := bundle.Parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := (&Cache{}).parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	if cached.PEM != nil || cached.Chain != nil || cached.Leaf.PublicKey != nil {
		t.Error("the cache holds the PEM, the chain or a fully parsed leaf")
	}
	if cached.Fingerprint() != full.Fingerprint() || !cached.Leaf.NotAfter.Equal(full.Leaf.NotAfter) ||
		!schedule.DueTime(cached, nil).Equal(schedule.DueTime(full, nil)) {
		t.Error("the thin bundle does not say what the full one says")
	}
}

func TestRelativeTimesReadAsAPersonReadsThem(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		45 * time.Second:                "in 45s",
		12*time.Minute + 30*time.Second: "in 12m",
		time.Hour + 43*time.Minute:      "in 1h 43m",
		2 * time.Hour:                   "in 2h",
		-(3*24*time.Hour + 4*time.Hour): "3d 4h ago",
		60 * 24 * time.Hour:             "in 60d",
	} {
		if got := rel(now.Add(d), now); got != want {
			t.Errorf("rel(%s) = %q, want %q", d, got, want)
		}
	}
	if rel(time.Time{}, now) != "-" {
		t.Error("no time is not a dash")
	}
}

// The table shows the buckets a person must see (names waiting, a CA hold, a fifth or less left)
// and counts the rest; --all shows them all.
func TestTableShowsBucketsNearBinding(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	r := StatusReport{GeneratedAt: now, CA: "ca", Names: []NameStatus{{Name: "a.test", State: StateFailing}, {Name: "b.test", State: StateValid}},
		Buckets: []BucketStatus{
			{Bucket: "roomy|example.com", Capacity: 50, TokensLeft: 40},
			{Bucket: "tight|example.com", Capacity: 50, TokensLeft: 10},
			{Bucket: "held|account", Capacity: 300, TokensLeft: 299, HeldUntil: now.Add(time.Hour)},
			{Bucket: "queued|x.test", Capacity: 5, TokensLeft: 4, Queued: []QueuedName{{Name: "x.test", At: now.Add(time.Hour)}}},
		}}
	var out strings.Builder
	if err := r.WriteTable(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 names: 1 failing, 1 valid", "tight|example.com", "held|account", "queued|x.test", "1 more rate-limit buckets"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "roomy|example.com") {
		t.Errorf("a bucket with room shown without --all:\n%s", out.String())
	}
	out.Reset()
	if err := r.WriteTable(&out, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "roomy|example.com") || strings.Contains(out.String(), "more rate-limit buckets") {
		t.Errorf("--all does not list every bucket:\n%s", out.String())
	}
}

// countingKV counts the reads of each key.
type countingKV struct {
	store.Files
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingKV) Get(key string) ([]byte, error) {
	c.mu.Lock()
	c.reads[key]++
	c.mu.Unlock()
	return c.Files.Get(key)
}

// The running service's report reads no bundle and no state of a name its actors hold, and says
// of it what the actors saw; a name they do not hold (removed, stopped) is read from the store.
func TestLoadLiveReadsOnlyWhatTheActorsDoNotHold(t *testing.T) {
	ca, err := certgen.NewCA("live")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	kv := &countingKV{Files: store.Files{Root: t.TempDir()}, reads: map[string]int{}}
	st := store.OpenKV(kv, "https://ca.test/dir")
	cfg := config.Config{DirectoryURL: "https://ca.test/dir"}
	live := certificate.NewLive()
	for _, name := range []string{"a.test", "b.test", "stored-only.test"} {
		pem, err := ca.Bundle([]string{name}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveBundle(name, pem); err != nil {
			t.Fatal(err)
		}
		if name != "stored-only.test" {
			live.Put(name, testkit.Must[*bundle.Bundle](t)(bundle.Parse(pem)), store.State{Failures: 2, LastError: "seen by the actor"})
		}
	}
	r, err := LoadLive(st, cfg, now, &Cache{}, live.Snapshot(), []string{"new.test"})
	if err != nil {
		t.Fatal(err)
	}
	for key := range kv.reads {
		if strings.Contains(key, "/a.test/") || strings.Contains(key, "/b.test/") {
			t.Errorf("read %s of a name the actors hold (reads %v)", key, kv.reads)
		}
	}
	if kv.reads["certificates/ca.test-dir/stored-only.test/bundle.pem"] != 1 {
		t.Errorf("the name the actors do not hold was not read from the store: %v", kv.reads)
	}
	got := map[string]NameStatus{}
	for _, n := range r.Names {
		got[n.Name] = n
	}
	if a := got["a.test"]; a.Failures != 2 || a.LastError != "seen by the actor" || a.NotAfter.IsZero() {
		t.Errorf("a.test = %+v, want the actor's view", a)
	}
	if len(got) != 4 || got["new.test"].State != StateWaiting || got["stored-only.test"].NotAfter.IsZero() {
		t.Errorf("names = %+v, want the live two, the stored one and the managed new one (waiting)", r.Names)
	}
}
