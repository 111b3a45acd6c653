// Package served is what the service knows of what HAProxy serves: every name's serve state
// (Book), and the rules of the proxy watch (which names a round asks, what a handshake means, when
// DFP's list is read). The uploader writes the book; status, /metrics and /readyz read it.
package served

import (
	"sort"
	"sync"
	"time"
)

// State is what the service knows of a name's certificate at the proxy.
type State string

const (
	// Stored: stored, not yet compared with what DFP holds (just after a start).
	Stored State = "stored"
	// Held: DFP's list holds it; no handshake has shown HAProxy presenting it yet.
	Held State = "held"
	// Queued: waiting for its upload (new, renewed, or missing from DFP).
	Queued State = "queued"
	// Uploaded: DFP took it; the serve check that follows has not answered yet.
	Uploaded State = "uploaded"
	// Served: a handshake on the proxy's TLS port presented it (Entry.LastServed says when).
	Served State = "served"
	// NotServed: a handshake presented another certificate, or no TLS at all (Entry.Why).
	NotServed State = "not_served"
)

// Entry is one name's entry in the book.
type Entry struct {
	State State
	// Since is when the name entered State.
	Since time.Time
	// LastServed is when a handshake last presented the name's certificate (zero: never seen).
	LastServed time.Time
	// Why says what the handshake found, for NotServed.
	Why string
}

// Ready reports whether the name counts as served for readiness and certificate_ready_status:
// seen served, or held by DFP with nothing seen against it. With no serve check (checked false),
// an upload DFP took is all there is to know.
func (s Entry) Ready(checked bool) bool {
	switch s.State {
	case Served, Held:
		return true
	case Uploaded:
		return !checked
	}
	return false
}

// Book is every name's serve state, written by the uploader and read by /metrics, /readyz and
// status. Safe for concurrent use.
type Book struct {
	mu    sync.Mutex
	names map[string]Entry
	// Checked says the serve check runs (SERVE_CHECK): without it nothing is ever seen served.
	Checked bool
}

// NewBook returns an empty book.
func NewBook(checked bool) *Book { return &Book{names: map[string]Entry{}, Checked: checked} }

// Set moves name to state at now; why is kept for NotServed only. The uploader writes the
// book; nothing else should.
func (b *Book) Set(name string, state State, why string, now time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.names[name]
	if cur.State != state {
		cur.Since = now
	}
	cur.State, cur.Why = state, ""
	switch state {
	case Served:
		cur.LastServed = now
	case NotServed:
		cur.Why = why
	}
	b.names[name] = cur
}

func (b *Book) Forget(name string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.names, name)
}

// Of returns name's entry; ok is false for a name the uploader has no certificate for.
func (b *Book) Of(name string) (s Entry, ok bool) {
	if b == nil {
		return Entry{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok = b.names[name]
	return s, ok
}

// NotServed lists the names a handshake found not served, sorted.
func (b *Book) NotServed() []string {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	var out []string
	for name, s := range b.names {
		if s.State == NotServed {
			out = append(out, name)
		}
	}
	b.mu.Unlock()
	sort.Strings(out)
	return out
}
