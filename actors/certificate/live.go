package certificate

import (
	"sync"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// LiveName is one name as its actor last saw it: its certificate (nil: none stored) and state.
type LiveName struct {
	Certificate *schedule.Summary
	State       store.State
}

// Live is every certificate actor's view of its name, kept as each evaluates and saves, so that
// status and /metrics are read from the running service instead of the store. A few hundred
// bytes a name; safe for concurrent use.
type Live struct {
	mu    sync.Mutex
	names map[string]LiveName
}

// NewLive returns an empty view.
func NewLive() *Live { return &Live{names: map[string]LiveName{}} }

// Put records name as an actor sees it: its stored certificate (nil: none) and state.
func (l *Live) Put(name string, b *bundle.Bundle, st store.State) {
	if l == nil {
		return
	}
	n := LiveName{State: st}
	if b != nil {
		s := schedule.SummaryOf(b, st.ARI)
		n.Certificate = &s
	}
	l.mu.Lock()
	l.names[name] = n
	l.mu.Unlock()
}

func (l *Live) setState(name string, st store.State) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.names[name]
	n.State = st
	l.names[name] = n
}

func (l *Live) forget(name string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.names, name)
	l.mu.Unlock()
}

// Snapshot copies the view.
func (l *Live) Snapshot() map[string]LiveName {
	out := map[string]LiveName{}
	if l == nil {
		return out
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range l.names {
		out[k] = v
	}
	return out
}
