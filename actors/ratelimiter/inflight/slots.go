// Package inflight caps the ACME orders in flight (ORDER_CONCURRENCY): a slot per order, taken in
// arrival order, and reclaimed after a lease when its holder crashed. The rate limiter's
// admission (ratelimiter.Admit) asks it after the CA's limits.
package inflight

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

// New returns empty slots.
func New(capacity int, lease time.Duration) *Slots {
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
