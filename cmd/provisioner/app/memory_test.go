package app

import "testing"

func TestWaveOver(t *testing.T) {
	cases := []struct {
		name               string
		released, finished uint64
		inFlight           int
		want               bool
	}{
		{"nothing ordered yet", 0, 0, 0, false},
		{"a wave still running", 0, 40, 32, false},
		{"a wave just over", 0, 1000, 0, true},
		{"released, nothing new since", 1000, 1000, 0, false},
		{"a renewal finished since", 1000, 1001, 0, true},
		{"a new wave started", 1000, 1001, 5, false},
	}
	for _, c := range cases {
		if got := WaveOver(c.released, c.finished, c.inFlight); got != c.want {
			t.Errorf("%s: WaveOver(%d, %d, %d) = %v, want %v", c.name, c.released, c.finished, c.inFlight, got, c.want)
		}
	}
}
