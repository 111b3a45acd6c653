package app

import "testing"

func TestWaveOver(t *testing.T) {
	cases := []struct {
		name               string
		releasedOnce       bool
		released, finished uint64
		inFlight           int
		want               bool
	}{
		{"the start's wave is over", false, 0, 0, 0, true},
		{"orders running at the first look", false, 0, 3, 32, false},
		{"released, nothing ordered since", true, 0, 0, 0, false},
		{"a wave of orders still running", true, 0, 40, 32, false},
		{"a wave of orders just over", true, 0, 1000, 0, true},
		{"released, nothing new since", true, 1000, 1000, 0, false},
		{"a renewal finished since", true, 1000, 1001, 0, true},
		{"a new wave started", true, 1000, 1001, 5, false},
	}
	for _, c := range cases {
		if got := WaveOver(c.releasedOnce, c.released, c.finished, c.inFlight); got != c.want {
			t.Errorf("%s: WaveOver(%v, %d, %d, %d) = %v, want %v", c.name, c.releasedOnce, c.released, c.finished, c.inFlight, got, c.want)
		}
	}
}
