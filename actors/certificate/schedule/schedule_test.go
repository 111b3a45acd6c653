package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

func TestRetryDelayFollowsLetsEncrypt(t *testing.T) {
	want := []time.Duration{time.Minute, time.Minute, 10 * time.Minute, 100 * time.Minute, 24 * time.Hour, 24 * time.Hour}
	for i, n := range []int{0, 1, 2, 3, 4, 50} {
		if got := RetryDelay(n); got != want[i] {
			t.Errorf("RetryDelay(%d) = %s, want %s", n, got, want[i])
		}
	}
	for i := 0; i < 100; i++ {
		if d := RandomJitter(time.Hour); d < 0 || d >= time.Hour {
			t.Fatalf("RandomJitter(1h) = %s, want within [0, 1h)", d)
		}
	}
	for _, n := range []time.Duration{0, -time.Minute} {
		if d := RandomJitter(n); d != 0 {
			t.Fatalf("RandomJitter(%s) = %s, want 0", n, d)
		}
	}
}

func TestRenewTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		life, before time.Duration
	}{
		{90 * 24 * time.Hour, 30 * 24 * time.Hour}, // a third of 90 days remains
		{45 * 24 * time.Hour, 15 * 24 * time.Hour}, // tlsserver profile
		{160 * time.Hour, 80 * time.Hour},          // shortlived: half remains under 10 days
		{6 * time.Minute, 3 * time.Minute},         // test certificates
	}
	for _, c := range cases {
		if got := RenewTime(t0, t0.Add(c.life)); !got.Equal(t0.Add(c.life - c.before)) {
			t.Errorf("lifetime %s: renew at %s, want %s before expiry", c.life, got.Sub(t0), c.before)
		}
	}
}

func TestDueTime(t *testing.T) {
	ca, err := certgen.NewCA("t")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pem, _ := ca.Bundle([]string{"a.example.com"}, t0, t0.Add(90*24*time.Hour))
	b, err := bundle.Parse(pem)
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	cases := []struct {
		name   string
		ari    *store.ARI
		want   time.Duration // after t0
		spaced bool          // held back to a day old
	}{
		{"no ARI: a third of the lifetime left", nil, 60 * day, false},
		{"ARI time inside the window", &store.ARI{Start: t0.Add(58 * day), End: t0.Add(62 * day), RenewAt: t0.Add(59 * day)}, 59 * day, false},
		{"ARI later than the emergency threshold", &store.ARI{Start: t0.Add(85 * day), End: t0.Add(88 * day), RenewAt: t0.Add(86 * day)}, 81 * day, false},
		{"window opening at issuance waits for a third of the lifetime", &store.ARI{Start: t0, End: t0.Add(90 * day), RenewAt: t0.Add(time.Hour)}, 30 * day, false},
		{"window that ends early (revoked) is followed", &store.ARI{Start: t0.Add(39 * day), End: t0.Add(40 * day), RenewAt: t0.Add(39 * day)}, 39 * day, false},
		{"a window over at issuance waits a day: no renewal loop", &store.ARI{Start: t0.Add(-day), End: t0.Add(time.Hour), RenewAt: t0}, day, true},
		{"a window that ends after a day is not held back", &store.ARI{Start: t0.Add(day), End: t0.Add(2 * day), RenewAt: t0.Add(day)}, day, false},
		{"unsupported ARI falls back to lifetime", &store.ARI{Unsupported: true}, 60 * day, false},
	}
	if got := AlarmTime(b); !got.Equal(t0.Add(90*day - 90*day/20)) {
		t.Errorf("alarm %s after issuance, want when a twentieth is left", got.Sub(t0))
	}
	for _, c := range cases {
		if got := DueTime(b, c.ari); !got.Equal(t0.Add(c.want)) {
			t.Errorf("%s: due %s after issuance, want %s", c.name, got.Sub(t0), c.want)
		}
		if got := Spaced(b, c.ari); got != c.spaced {
			t.Errorf("%s: Spaced = %v, want %v", c.name, got, c.spaced)
		}
	}
}

func TestNextARI(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := issuer.Window{Start: now.Add(time.Hour), End: now.Add(3 * time.Hour), RetryAfter: 6 * time.Hour}
	first := NextARI(nil, "fp", w, nil, now, RandomJitter)
	if first.RenewAt.Before(w.Start) || !first.RenewAt.Before(w.End) || !first.NextCheck.Equal(now.Add(6*time.Hour)) {
		t.Fatalf("first = %+v", first)
	}
	again := NextARI(first, "fp", w, nil, now.Add(6*time.Hour), RandomJitter)
	if !again.RenewAt.Equal(first.RenewAt) {
		t.Error("the same window got a new random time")
	}
	failed := NextARI(first, "fp", issuer.Window{}, errors.New("timeout"), now, RandomJitter)
	if !failed.RenewAt.Equal(first.RenewAt) || !failed.NextCheck.Equal(now.Add(time.Hour)) {
		t.Errorf("a failed check lost the window or did not retry within the hour: %+v", failed)
	}
	none := NextARI(nil, "fp", issuer.Window{}, issuer.ErrNoARI, now, RandomJitter)
	if !none.Unsupported || none.Usable() {
		t.Errorf("no ARI = %+v", none)
	}
	refused := NextARI(&store.ARI{Certificate: "fp", ReplacesRefused: true}, "fp", w, nil, now, RandomJitter)
	if refused.Usable() {
		t.Error("a refused replaces became usable again")
	}
	long := NextARI(nil, "fp", issuer.Window{Start: w.Start, End: w.End, RetryAfter: 72 * time.Hour}, nil, now, RandomJitter)
	if !long.NextCheck.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("Retry-After of 3 days gave next check %s; at least daily", long.NextCheck.Sub(now))
	}
	plain := NextARI(nil, "fp", issuer.Window{Start: w.Start, End: w.End}, nil, now, RandomJitter)
	if !plain.NextCheck.Equal(now.Add(12 * time.Hour)) {
		t.Errorf("without Retry-After next check %s, want twice a day", plain.NextCheck.Sub(now))
	}
}
