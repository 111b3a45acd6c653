package inflight

import (
	"reflect"
	"testing"
	"time"
)

func TestSlotsCapOrdersInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(2, 10*time.Minute)
	if !s.Request("a", now) || !s.Request("b", now) {
		t.Fatal("first two requests must be granted")
	}
	if s.Request("c", now) || s.Request("d", now) || s.Request("c", now) {
		t.Fatal("requests past the cap must wait")
	}
	if s.Waiting() != 2 {
		t.Fatalf("waiting = %d, want 2 (c asked twice but waits once)", s.Waiting())
	}
	if got := s.Release("a", now); !reflect.DeepEqual(got, []string{"c"}) {
		t.Fatalf("release a granted %v, want [c]", got)
	}
	if got := s.Release("zzz", now); len(got) != 0 {
		t.Fatalf("releasing an unknown name granted %v", got)
	}
	if s.InFlight() != 2 {
		t.Fatalf("in flight = %d, want 2", s.InFlight())
	}
}

func TestSlotsReclaimExpiredLeases(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(1, time.Minute)
	s.Request("crashed", now)
	if s.Request("next", now.Add(30*time.Second)) {
		t.Fatal("granted while the slot is held")
	}
	if got := s.Release("", now.Add(59*time.Second)); len(got) != 0 {
		t.Fatalf("lease reclaimed early: %v", got)
	}
	if got := s.Release("", now.Add(time.Minute)); !reflect.DeepEqual(got, []string{"next"}) {
		t.Fatalf("expired lease not reclaimed: %v", got)
	}
}

func TestSlotsNewcomerDoesNotJumpTheQueue(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(1, time.Minute)
	s.Request("a", now)
	s.Request("b", now)
	s.Release("a", now) // b now holds the slot
	if s.Request("c", now) {
		t.Fatal("c granted while b holds the only slot")
	}
}
