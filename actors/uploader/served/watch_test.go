package served

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestWatchSize(t *testing.T) {
	for _, c := range []struct {
		names    int
		interval time.Duration
		want     int
	}{
		{0, 30 * time.Second, 0},
		{3, 30 * time.Second, 3},       // fewer names than the minimum: all of them
		{100, 30 * time.Second, 8},     // 30 rounds in 15 min would need 4: the minimum
		{1000, 30 * time.Second, 34},   // 1,000 names in 30 rounds
		{10000, 30 * time.Second, 256}, // capped: a visit takes 20 min then
		{1000, time.Hour, 256},         // fewer rounds than one per 15 min: every name, capped
		{1000, 15 * time.Minute, 256},  // one round per visit
		{1000, 7*time.Minute + 30*time.Second, 256},
		{40, 1 * time.Minute, 8},
	} {
		if got := WatchSize(c.names, c.interval); got != c.want {
			t.Errorf("WatchSize(%d, %s) = %d, want %d", c.names, c.interval, got, c.want)
		}
	}
}

// Rounds visit every name in turn, wrapping around, and keep their place as names come and go.
func TestSampleVisitsEveryNameInTurn(t *testing.T) {
	names := []string{"e", "a", "d", "b", "c"}
	got, cursor := Sample(names, "", 2)
	if !reflect.DeepEqual(got, []string{"a", "b"}) || cursor != "b" {
		t.Fatalf("first round %v, %q", got, cursor)
	}
	got, cursor = Sample(names, cursor, 2)
	if !reflect.DeepEqual(got, []string{"c", "d"}) {
		t.Fatalf("second round %v", got)
	}
	got, cursor = Sample(names, cursor, 2)
	if !reflect.DeepEqual(got, []string{"e", "a"}) || cursor != "a" {
		t.Fatalf("third round wraps: %v, %q", got, cursor)
	}
	// The cursor's name is gone: the round starts at the next one after it.
	if got, _ := Sample([]string{"a", "c", "e"}, "b", 2); !reflect.DeepEqual(got, []string{"c", "e"}) {
		t.Fatalf("after a removed cursor: %v", got)
	}
	if got, _ := Sample(names, "", 9); len(got) != len(names) {
		t.Fatalf("a sample larger than the names repeats them: %v", got)
	}
	if got, cursor := Sample(nil, "x", 3); got != nil || cursor != "x" {
		t.Fatalf("no names: %v, %q", got, cursor)
	}
	// Over ceil(n/k) rounds every name is visited.
	var many []string
	for i := 0; i < 1000; i++ {
		many = append(many, fmt.Sprintf("n%04d.example.com", i))
	}
	seen, cursor := map[string]bool{}, ""
	k := WatchSize(len(many), 30*time.Second)
	for round := 0; round < (len(many)+k-1)/k; round++ {
		var picked []string
		picked, cursor = Sample(many, cursor, k)
		for _, n := range picked {
			seen[n] = true
		}
	}
	if len(seen) != len(many) {
		t.Fatalf("%d of %d names visited in %d rounds of %d", len(seen), len(many), (len(many)+k-1)/k, k)
	}
}

func TestWatched(t *testing.T) {
	for _, c := range []struct {
		name      string
		err       error
		got, want string
		state     State
	}{
		{"presents ours", nil, "f1", "f1", Served},
		{"presents another (a lost file: the default certificate)", nil, "f2", "f1", NotServed},
		{"no TLS at all (DFP restarted with /certs empty)", errors.New("first record does not look like a TLS handshake"), "", "f1", NotServed},
	} {
		t.Run(c.name, func(t *testing.T) {
			state, why := Watched(c.err, c.got, c.want)
			if state != c.state || (state == NotServed) != (why != "") {
				t.Fatalf("Watched = %s, %q; want %s, with a reason only when not served", state, why, c.state)
			}
		})
	}
}

func TestWatchReconcile(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	holdoff := time.Minute
	for _, c := range []struct {
		name                string
		lost                int
		lastAsked, restored time.Time
		now                 time.Time
		want                bool
	}{
		{"nothing lost", 0, time.Time{}, time.Time{}, t0, false},
		{"a first loss", 1, time.Time{}, time.Time{}, t0, true},
		{"more of the same outage, within the holdoff", 3, t0, time.Time{}, t0.Add(10 * time.Second), false},
		{"the outage goes on past the holdoff", 3, t0, time.Time{}, t0.Add(time.Minute), true},
		{"a new loss after names were served again", 1, t0, t0.Add(5 * time.Second), t0.Add(10 * time.Second), true},
		{"served again before the last ask: the same outage", 1, t0.Add(5 * time.Second), t0, t0.Add(10 * time.Second), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := WatchReconcile(c.lost, c.lastAsked, c.restored, c.now, holdoff); got != c.want {
				t.Fatalf("WatchReconcile = %v, want %v", got, c.want)
			}
		})
	}
}
