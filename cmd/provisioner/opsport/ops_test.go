package opsport

import (
	"testing"
	"time"
)

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	interval := 30 * time.Second
	cases := []struct {
		name       string
		lastAnswer time.Time
		ready      bool
	}{
		{"DFP never answered yet", time.Unix(0, 0), false},
		{"answered just now", now, true},
		{"answered three intervals ago", now.Add(-3 * interval), true},
		{"silent for longer than three intervals", now.Add(-3*interval - time.Second), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Readiness(c.lastAnswer, now, interval)
			if got.OK != c.ready || (got.Checks["dfp"] == "ok") != c.ready {
				t.Fatalf("Readiness = %+v, want ready %v", got, c.ready)
			}
		})
	}
}
