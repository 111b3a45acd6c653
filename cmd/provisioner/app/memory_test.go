package app

import "testing"

func TestWaveOver(t *testing.T) {
	cases := []struct {
		name               string
		releasedOnce       bool
		released, finished uint64
		inFlight           int
		unreturned         uint64
		want               bool
	}{
		{"the start's wave is over", false, 0, 0, 0, 0, true},
		{"orders running at the first look", false, 0, 3, 32, 0, false},
		{"released, nothing ordered since", true, 0, 0, 0, 0, false},
		{"a wave of orders still running", true, 0, 40, 32, 0, false},
		{"a wave of orders just over", true, 0, 1000, 0, 0, true},
		{"released, nothing new since", true, 1000, 1000, 0, 0, false},
		{"a renewal finished since", true, 1000, 1001, 0, 0, true},
		{"a new wave started", true, 1000, 1001, 5, 0, false},
		{"nothing ordered, but a comparison left 40 MiB free", true, 1000, 1000, 0, 40 << 20, true},
		{"nothing ordered, 10 MiB free: not worth a collection", true, 1000, 1000, 0, 10 << 20, false},
		{"40 MiB free while orders run", true, 1000, 1001, 5, 40 << 20, false},
	}
	for _, c := range cases {
		if got := WaveOver(c.releasedOnce, c.released, c.finished, c.inFlight, c.unreturned); got != c.want {
			t.Errorf("%s: WaveOver(%v, %d, %d, %d, %d) = %v, want %v", c.name, c.releasedOnce, c.released, c.finished, c.inFlight, c.unreturned, got, c.want)
		}
	}
}
