package discovery

import (
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
