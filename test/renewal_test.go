package test

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/certcrypto"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// shortLived is a 60-second profile: renewals within a test's minute.
var shortLived = testca.Options{Profiles: map[string]uint64{"short": 60}, ReuseAuthorizations: true}

func eventsFor(r *running, name event.Name, domain string) []map[string]any {
	var out []map[string]any
	for _, e := range r.logs.Events(name) {
		if e["domain"] == domain {
			out = append(out, e)
		}
	}
	return out
}

func logTime(t *testing.T, e map[string]any, field string) time.Time {
	t.Helper()
	s, _ := e[field].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s of %v: %v", field, e, err)
	}
	return at
}

// Renewal follows the CA's ARI window and names the old certificate in "replaces"; when the CA
// refuses that (409 alreadyReplaced: someone already replaced it), the renewal is ordered again
// at once without it.
func TestARIRenewalWithReplacesAndRetryWithoutIt(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, shortLived)
	onlyDomains(w, "ari.test,taken.test")
	w.Env["ACME_PROFILE"] = "short"

	r := w.start(t)
	waitFor(t, "both first certificates", 30*time.Second, r, func() bool {
		return len(r.logs.Events(event.CertificateObtained)) == 2 && len(r.logs.Events(event.ARIWindow)) == 2
	})
	replaceBehindTheServicesBack(t, w, "taken.test")

	waitFor(t, "both renewals", 90*time.Second, r, func() bool {
		return len(eventsFor(r, event.CertificateObtained, "ari.test")) >= 2 && len(eventsFor(r, event.CertificateObtained, "taken.test")) >= 2
	})
	r.shutdown(t)

	window := eventsFor(r, event.ARIWindow, "ari.test")[0]
	start, end := logTime(t, window, "window_start"), logTime(t, window, "window_end")
	started := eventsFor(r, event.IssuanceStarted, "ari.test")
	if len(started) < 2 || started[1]["replaces"] != true {
		t.Fatalf("ari.test renewal = %v, want an order with replaces", started)
	}
	if at := logTime(t, started[1], "time"); at.Before(start.Add(-time.Second)) || at.After(end.Add(time.Second)) {
		t.Errorf("ari.test renewed at %s, outside the CA's window %s to %s", at, start, end)
	}

	refused := eventsFor(r, event.ARIReplacesRefused, "taken.test")
	if len(refused) != 1 {
		t.Fatalf("ari_replaces_refused for taken.test = %v, want exactly one", refused)
	}
	started = eventsFor(r, event.IssuanceStarted, "taken.test")
	if len(started) < 3 || started[1]["replaces"] != true || started[2]["replaces"] != false {
		t.Errorf("taken.test orders = %v, want: first, with replaces (refused), again without", started)
	}
	if n := len(r.logs.Events(event.RateLimited)); n != 0 {
		t.Errorf("%d rate_limited answers", n)
	}
}

// replaceBehindTheServicesBack orders a replacement of name's stored certificate with the same
// account, as a second installation sharing the account would, so the service's own "replaces"
// meets 409 alreadyReplaced. The replacement is stored elsewhere: the service never sees it.
func replaceBehindTheServicesBack(t *testing.T, w *World, name string) {
	t.Helper()
	st, err := store.Open(w.Env["DATA_DIR"], w.CA.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := st.LoadBundle(name)
	if err != nil {
		t.Fatal(err)
	}
	old, err := bundle.Parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(t.TempDir(), w.CA.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	account, err := st.LoadAccount()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SaveAccount(account); err != nil {
		t.Fatal(err)
	}
	iss := issuer.New(issuer.Config{
		DirectoryURL: w.CA.DirectoryURL, KeyType: certcrypto.EC256, Profile: "short",
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.CA.Roots}},
		HTTP01:    webroot.Provider{Answers: webroot.NewTokens()}, // authorizations are reused
		Store:     other, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if _, err := iss.Obtain(name, old.Leaf); err != nil {
		t.Fatalf("replacing %s behind the service's back: %v", name, err)
	}
	if _, err = iss.Obtain(name, old.Leaf); !errors.Is(err, issuer.ErrReplacesRefused) {
		t.Fatalf("a second replacement of %s gave %v, want ErrReplacesRefused (lego's silent retry stopped)", name, err)
	}
}

// Without ARI the certificate is renewed when half its (under ten days) lifetime is left.
func TestRenewalByLifetimeWithoutARI(t *testing.T) {
	t.Parallel()
	opts := shortLived
	opts.NoARI = true
	w := newWorldWith(t, opts)
	onlyDomains(w, "plain.test")
	w.Env["ACME_PROFILE"] = "short"

	r := w.start(t)
	waitFor(t, "the renewal", 60*time.Second, r, func() bool {
		return len(r.logs.Events(event.CertificateObtained)) >= 2
	})
	r.shutdown(t)
	first := r.logs.Events(event.CertificateObtained)[0]
	notAfter := logTime(t, first, "not_after")
	renewedAt := logTime(t, r.logs.Events(event.IssuanceStarted)[1], "time")
	// Issued for 60 s: due when 30 s are left, within scheduling slack.
	if due := notAfter.Add(-30 * time.Second); renewedAt.Before(due.Add(-time.Second)) || renewedAt.After(due.Add(5*time.Second)) {
		t.Errorf("renewed at %s, want about %s (half the lifetime left)", renewedAt, due)
	}
	if started := r.logs.Events(event.IssuanceStarted); started[1]["replaces"] != false {
		t.Errorf("renewal without ARI used replaces: %v", started[1])
	}
	if len(r.logs.Events(event.ARIUnsupported)) != 1 {
		t.Errorf("ari_unsupported not logged once")
	}
}

// A profile the CA does not offer fails the order with a clear error, and nothing is issued.
func TestUnknownProfileIsReported(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "profile.test")
	w.Env["ACME_PROFILE"] = "bogus"
	r := w.start(t)
	waitFor(t, "the failure", 30*time.Second, r, func() bool { return len(r.logs.Events(event.IssuanceFailed)) == 1 })
	r.shutdown(t)
	e := r.logs.Events(event.IssuanceFailed)[0]
	if msg, _ := e["error"].(string); !strings.Contains(msg, `ACME_PROFILE "bogus" is not offered`) {
		t.Errorf("issuance_failed = %v, want it to name the profile", e)
	}
	if w.CA.Orders() != 0 {
		t.Errorf("the CA received an order for an unknown profile")
	}
}

// A CA whose renewal window is open for every new certificate would have each renewed at once,
// exempt from the limits, for ever. A certificate is renewed no younger than a tenth of its
// lifetime (30 s of 300 s here; a day for Let's Encrypt's), and the operator is alerted.
func TestWindowOpenAtIssuanceRenewsOnlyWhenATenthOld(t *testing.T) {
	t.Parallel()
	hook, received := recordWebhook(t)
	w := newWorldWith(t, testca.Options{Profiles: map[string]uint64{"five-minutes": 300}, ReuseAuthorizations: true, WindowsOpenNow: true})
	onlyDomains(w, "loop.test")
	w.Env["ACME_PROFILE"] = "five-minutes"
	w.Env["ALERT_WEBHOOK_URL"] = hook
	r := w.start(t)
	// Without the spacing the second comes a second or two after the first, then dozens more.
	waitFor(t, "the renewal", 2*time.Minute, r, func() bool {
		return len(eventsFor(r, event.CertificateObtained, "loop.test")) >= 2
	})
	r.shutdown(t)
	obtained := eventsFor(r, event.CertificateObtained, "loop.test")
	started := eventsFor(r, event.IssuanceStarted, "loop.test")
	if len(obtained) != 2 || len(started) != 2 {
		t.Fatalf("%d certificates from %d orders by the first renewal, want 2 and 2", len(obtained), len(started))
	}
	if gap := logTime(t, started[1], "time").Sub(logTime(t, obtained[0], "time")); gap < 25*time.Second {
		t.Errorf("the renewal was ordered %s after the first certificate, want no sooner than a tenth of its lifetime (30 s)", gap)
	}
	if spaced := eventsFor(r, event.RenewalSpaced, "loop.test"); len(spaced) == 0 {
		t.Error("no renewal_spaced line")
	}
	alerted := false
	for _, a := range received() {
		alerted = alerted || a["kind"] == "spaced" && a["state"] == "trouble" && a["name"] == "loop.test"
	}
	if !alerted {
		t.Errorf("no spaced alert for loop.test; alerts: %v", received())
	}
}
