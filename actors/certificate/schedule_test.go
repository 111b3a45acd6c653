package certificate

import (
	"testing"
	"time"
)

func TestRetryDelayFollowsLetsEncrypt(t *testing.T) {
	want := []time.Duration{time.Minute, time.Minute, 10 * time.Minute, 100 * time.Minute, 24 * time.Hour, 24 * time.Hour}
	for i, n := range []int{0, 1, 2, 3, 4, 50} {
		if got := RetryDelay(n); got != want[i] {
			t.Errorf("RetryDelay(%d) = %s, want %s", n, got, want[i])
		}
	}
	for i := 0; i < 100; i++ {
		if d := withJitter(time.Hour); d < time.Hour || d > 66*time.Minute {
			t.Fatalf("withJitter(1h) = %s, want within [1h, 1h6m]", d)
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
