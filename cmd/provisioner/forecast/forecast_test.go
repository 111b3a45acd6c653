package forecast

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/plan"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

var now = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)

func production() config.Config {
	return config.Config{DirectoryURL: lego.LEDirectoryProduction, RateLimits: "production", RateLimitMargin: 0.1,
		Limits: limits.Production.WithMargin(0.1)}
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{nil, Options{Days: 90}, ""},
		{[]string{"--days", "45", "--json", "--profile", "tlsserver"}, Options{Days: 45, JSON: true, Profile: "tlsserver"}, ""},
		{[]string{"--add", "a.example.com,3@example.org"}, Options{Days: 90, Add: []string{"a.example.com", "3@example.org"}}, ""},
		{[]string{"--days", "0"}, Options{}, "--days 0 is not from 1 to 730"},
		{[]string{"--days", "731"}, Options{}, "--days 731"},
		{[]string{"extra"}, Options{}, `unexpected "extra"`},
		{[]string{"--nope"}, Options{}, "flag provided but not defined"},
	}
	for _, c := range cases {
		got, err := ParseArgs(c.args, io.Discard)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%v: error %v, want %q", c.args, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%v: %v", c.args, err)
		case got.Days != c.want.Days || got.JSON != c.want.JSON || got.Profile != c.want.Profile || strings.Join(got.Add, ",") != strings.Join(c.want.Add, ","):
			t.Errorf("%v: %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestAddedNames(t *testing.T) {
	got, err := addedNames([]string{"A.Example.com", "3@example.org", "12@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 16 || got[0] != "a.example.com" || got[1] != "new-1.example.org" || got[4] != "new-01.example.net" || got[15] != "new-12.example.net" {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"0@example.com", "x@example.com", "3@", "not a name", "100001@example.com"} {
		if _, err := addedNames([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The input comes from the same report as "provisioner status": removed names are left out,
// paused ones kept (never planned), a renewal by the CA's window is exempt, and the lifetime is
// the CA's profile (Let's Encrypt), or the stored certificates' own (another CA).
func TestInputFromTheStatusReport(t *testing.T) {
	ca := testkit.Must[*certgen.CA](t)(certgen.NewCA("plan"))
	fresh := testkit.Bundle(t, ca, []string{"valid.example.com"}, now.Add(-24*time.Hour), now.Add(89*24*time.Hour))
	ari := testkit.Bundle(t, ca, []string{"ari.example.com"}, now.Add(-24*time.Hour), now.Add(89*24*time.Hour))
	names := []status.StoredName{
		{Name: "valid.example.com", Bundle: fresh},
		{Name: "ari.example.com", Bundle: ari, State: store.State{ARI: &store.ARI{Certificate: ari.Fingerprint(), Start: now.Add(40 * 24 * time.Hour),
			End: now.Add(42 * 24 * time.Hour), RenewAt: now.Add(41 * 24 * time.Hour), NextCheck: now.Add(time.Hour)}}},
		{Name: "paused.example.com", State: store.State{PausedURL: "https://ca.test/unpause", Failures: 3}},
		{Name: "gone.example.com", Bundle: fresh, Gone: true},
		{Name: "failing.example.com", State: store.State{Failures: 1, NextAttempt: now.Add(time.Minute)}},
	}
	report := status.BuildStatus("ca", names, ratelimiter.Ledger{}, limits.Production, now)
	in, h, err := Input(production(), report, ratelimiter.Ledger{}, Options{Days: 90, Add: []string{"2@example.org", "valid.example.com"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]plan.Name{}
	for _, n := range in.Names {
		byName[n.Name] = n
	}
	if _, ok := byName["gone.example.com"]; ok || len(in.Names) != 6 {
		t.Errorf("names %v: want the four kept and two added, without gone.example.com", in.Names)
	}
	if n := byName["ari.example.com"]; !n.InWindow || !n.DueAt.Equal(now.Add(41*24*time.Hour)) {
		t.Errorf("ari.example.com: %+v, want due in the CA's window", n)
	}
	if n := byName["valid.example.com"]; n.InWindow || n.Added || !n.NotAfter.Equal(fresh.Leaf.NotAfter) {
		t.Errorf("valid.example.com: %+v, want its certificate, by lifetime, not added again", n)
	}
	if !byName["paused.example.com"].Paused || byName["failing.example.com"].Failures != 1 || !byName["new-1.example.org"].Added {
		t.Errorf("states lost: %+v", in.Names)
	}
	if h.Stored != 2 || h.Without != 2 || h.Added != 2 || h.Profile != "classic" || len(h.Changes) != 1 {
		t.Errorf("header %+v", h)
	}
	if got := in.Lifetime(now); got != 90*24*time.Hour {
		t.Errorf("classic today: %s", got)
	}
	in, h, _ = Input(production(), report, ratelimiter.Ledger{}, Options{Days: 90, Profile: "shortlived"}, now)
	if in.Lifetime(now) != 160*time.Hour || h.Profile != "shortlived" || len(h.Changes) != 0 {
		t.Errorf("--profile shortlived: %s, %+v", in.Lifetime(now), h)
	}
	if _, _, err := Input(production(), report, ratelimiter.Ledger{}, Options{Days: 90, Profile: "tlsclient"}, now); err == nil {
		t.Error("--profile tlsclient accepted")
	}
	other := production()
	other.DirectoryURL = "https://ca.internal/directory"
	in, h, _ = Input(other, report, ratelimiter.Ledger{}, Options{Days: 90}, now)
	if in.Lifetime(now) != 90*24*time.Hour || h.Profile != "" || !strings.Contains(h.Lifetime, "as the stored certificates: 90 days") {
		t.Errorf("another CA: %s, %+v", in.Lifetime(now), h)
	}
}

// The README's example: 120 new names under one registered domain, at the default 10% margin:
// 45 at once, then one each time the domain's bucket gives a token back (3 more by midnight).
func TestTextOfOneHundredTwentyNewNames(t *testing.T) {
	in, h, err := Input(production(), status.StatusReport{}, ratelimiter.Ledger{}, Options{Days: 90, Add: []string{"120@example.com"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteText(&out, h, p, production().Limits); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	perDomain, _ := production().Limits.Named(messages.LimitCertificatesPerDomain)
	last := p.Pending[len(p.Pending)-1]
	for _, want := range []string{
		"names: 0 with a certificate, 0 without, 120 added (what-if)",
		"applied: orders from 2027-02-10 get 64-day certificates (classic)",
		"total: 120 new, 120 renewals, 240 proxy reloads; 75 orders deferred by a limit",
		"binds first: certificates_per_registered_domain at 2026-12-03 09:30 (new-046.example.com)",
		"2026-12-03  48   0         48       75        certificates_per_registered_domain 0/45",
		"new-120.example.com    new (added)  " + last.At.Format(stamp) + "  certificates_per_registered_domain  " + last.Until.Format(stamp),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan lacks %q:\n%s", want, text)
		}
	}
	// After the first 45, one name per token: the last waits 75 intervals (and the clock skew).
	if want := now.Add(75*perDomain.Interval() + ratelimiter.ClockSkew); last.At.Sub(want).Abs() > time.Minute {
		t.Errorf("the last name at %s, want about %s", last.At, want)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, h, p); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Days) != 90 || len(back.Pending) != 120 || back.Profile != "classic" {
		t.Errorf("--json: %v, %d days, %d pending, profile %q", err, len(back.Days), len(back.Pending), back.Profile)
	}
}
