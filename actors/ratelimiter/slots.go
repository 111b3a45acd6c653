// Package ratelimiter grants or defers every ACME order: the CA's limits (package limits) as token
// buckets (limiter.go), persisted in a ledger, and a cap on orders in flight (this file), whose
// permits are reclaimed after a lease when their holder crashed; admission.go decides over both.
package ratelimiter

import "time"

// Slots is the plain, clock-driven core of the limiter: at most Cap names hold a permit, the rest
// wait in arrival order.
type Slots struct {
	Cap   int
	Lease time.Duration

	held    map[string]time.Time // name -> lease expiry
	waiting []string
	queued  map[string]bool
}

// NewSlots returns an empty limiter core.
func NewSlots(capacity int, lease time.Duration) *Slots {
	return &Slots{Cap: capacity, Lease: lease, held: map[string]time.Time{}, queued: map[string]bool{}}
}

// Request reports whether name may order now; if not, name waits for a slot (once, however
// often it asks).
func (s *Slots) Request(name string, now time.Time) bool {
	if _, ok := s.held[name]; ok {
		s.held[name] = now.Add(s.Lease)
		return true
	}
	if len(s.held) < s.Cap && len(s.waiting) == 0 {
		s.held[name] = now.Add(s.Lease)
		return true
	}
	if !s.queued[name] {
		s.queued[name] = true
		s.waiting = append(s.waiting, name)
	}
	return false
}

// Release returns name's permit, and expired leases, and hands the free slots to waiting names,
// which it returns.
func (s *Slots) Release(name string, now time.Time) []string {
	delete(s.held, name)
	for n, exp := range s.held {
		if !now.Before(exp) {
			delete(s.held, n)
		}
	}
	var granted []string
	for len(s.held) < s.Cap && len(s.waiting) > 0 {
		next := s.waiting[0]
		s.waiting = s.waiting[1:]
		delete(s.queued, next)
		s.held[next] = now.Add(s.Lease)
		granted = append(granted, next)
	}
	return granted
}

// Reset forgets every holder and waiter: they are all gone.
func (s *Slots) Reset() {
	clear(s.held)
	clear(s.queued)
	s.waiting = nil
}

// InFlight is the number of permits held.
func (s *Slots) InFlight() int { return len(s.held) }

// Waiting is the number of names waiting for a slot.
func (s *Slots) Waiting() int { return len(s.waiting) }
