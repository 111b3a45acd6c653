package discovery

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestHints(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		added   []string
		listed  map[string]bool // nil: the poll failed
		at      time.Duration   // after the notification
		left    int
		pollsAt time.Duration // -1: no further poll
	}{
		{"listed at once: nothing more", []string{"web"}, map[string]bool{"web": true}, 0, 0, -1},
		{"not listed yet: poll again in a second", []string{"web"}, map[string]bool{"other": true}, 0, 1, time.Second},
		{"the poll failed: poll again in a second", []string{"web"}, nil, 0, 1, time.Second},
		{"never listed: given up after the window", []string{"web"}, map[string]bool{}, hintWindow, 0, -1},
		{"one listed, one not", []string{"web", "api"}, map[string]bool{"web": true}, 2 * time.Second, 1, 2*time.Second + time.Second},
		{"a remove notification carries no hint", []string{""}, map[string]bool{}, 0, 0, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := Hints{}
			for _, s := range c.added {
				h.Add(s, t0)
			}
			next := h.AfterPoll(c.listed, t0.Add(c.at))
			if len(h) != c.left {
				t.Errorf("%d hints left, want %d", len(h), c.left)
			}
			switch {
			case c.pollsAt < 0 && !next.IsZero():
				t.Errorf("polls again at %s, want no further poll", next)
			case c.pollsAt >= 0 && !next.Equal(t0.Add(c.pollsAt)):
				t.Errorf("polls again at %s, want %s", next, t0.Add(c.pollsAt))
			}
		})
	}
}

// Whoever reaches the internal port can notify: what the hints keep is bounded in number and size.
func TestHintsAreBounded(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	h := Hints{}
	h.Add(strings.Repeat("x", MaxServiceName+1), now)
	if len(h) != 0 {
		t.Fatal("a name longer than any service's was kept")
	}
	for i := 0; i < 10*MaxHints; i++ {
		h.Add(fmt.Sprintf("svc%d", i), now)
	}
	if len(h) != MaxHints {
		t.Fatalf("%d hints kept, want at most %d", len(h), MaxHints)
	}
	h.Add("svc0", now.Add(time.Second)) // a known one is renewed even when full
	if h["svc0"] != now.Add(time.Second+hintWindow) {
		t.Fatalf("a known hint was not renewed: %v", h["svc0"])
	}
}

func TestNextPoll(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		lastStart time.Time
		now       time.Time
		at        time.Time
		pollNow   bool
	}{
		{"no poll yet", time.Time{}, t0, t0, true},
		{"the last one long ago", t0, t0.Add(5 * time.Second), t0.Add(5 * time.Second), true},
		{"just after the last one", t0, t0.Add(100 * time.Millisecond), t0.Add(MinPollSpacing), false},
		{"exactly the spacing after", t0, t0.Add(MinPollSpacing), t0.Add(MinPollSpacing), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			at, now := NextPoll(c.lastStart, c.now)
			if now != c.pollNow || !at.Equal(c.at) {
				t.Fatalf("NextPoll = %v, %v; want %v, %v", at, now, c.at, c.pollNow)
			}
		})
	}
}
