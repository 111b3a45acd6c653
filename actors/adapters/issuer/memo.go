package issuer

import (
	"sync"

	"golang.org/x/sync/singleflight"
)

// memo makes a value once: callers that come while it is being made wait for that one attempt
// (singleflight) instead of each making their own, no lock is held over the making, and a failed
// attempt is tried again by the next caller.
type memo[T any] struct {
	group singleflight.Group
	mu    sync.Mutex
	value T
	made  bool
}

func (m *memo[T]) get(make func() (T, error)) (T, error) {
	m.mu.Lock()
	value, made := m.value, m.made
	m.mu.Unlock()
	if made {
		return value, nil
	}
	v, err, _ := m.group.Do("", func() (any, error) {
		value, err := make()
		if err == nil {
			m.mu.Lock()
			m.value, m.made = value, true
			m.mu.Unlock()
		}
		return value, err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
