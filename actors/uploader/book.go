package uploader

import (
	"sort"
	"sync"
	"time"
)

// ServeState is what the service knows of a name's certificate at the proxy.
type ServeState string

const (
	// ServeStored: stored, not yet compared with what DFP holds (just after a start).
	ServeStored ServeState = "stored"
	// ServeHeld: DFP's list holds it; no handshake has shown HAProxy presenting it yet.
	ServeHeld ServeState = "held"
	// ServeQueued: waiting for its upload (new, renewed, or missing from DFP).
	ServeQueued ServeState = "queued"
	// ServeUploaded: DFP took it; the serve check that follows has not answered yet.
	ServeUploaded ServeState = "uploaded"
	// ServeServed: a handshake on the proxy's TLS port presented it (Served.At says when).
	ServeServed ServeState = "served"
	// ServeNotServed: a handshake presented another certificate, or no TLS at all (Served.Why).
	ServeNotServed ServeState = "not_served"
)

// Served is one name's entry in the book.
type Served struct {
	State ServeState
	// Since is when the name entered State.
	Since time.Time
	// LastServed is when a handshake last presented the name's certificate (zero: never seen).
	LastServed time.Time
	// Why says what the handshake found, for ServeNotServed.
	Why string
}

// Ready reports whether the name counts as served for readiness and certificate_ready_status:
// seen served, or held by DFP with nothing seen against it. With no serve check (checked false),
// an upload DFP took is all there is to know.
func (s Served) Ready(checked bool) bool {
	switch s.State {
	case ServeServed, ServeHeld:
		return true
	case ServeUploaded:
		return !checked
	}
	return false
}

// Book is every name's serve state, written by the uploader and read by /metrics, /readyz and
// status. Safe for concurrent use.
type Book struct {
	mu    sync.Mutex
	names map[string]Served
	// Checked says the serve check runs (SERVE_CHECK): without it nothing is ever seen served.
	Checked bool
}

// NewBook returns an empty book.
func NewBook(checked bool) *Book { return &Book{names: map[string]Served{}, Checked: checked} }

// Set moves name to state at now; why is kept for ServeNotServed only. The uploader writes the
// book; nothing else should.
func (b *Book) Set(name string, state ServeState, why string, now time.Time) {
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
	case ServeServed:
		cur.LastServed = now
	case ServeNotServed:
		cur.Why = why
	}
	b.names[name] = cur
}

func (b *Book) forget(name string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.names, name)
}

// Of returns name's entry; ok is false for a name the uploader has no certificate for.
func (b *Book) Of(name string) (s Served, ok bool) {
	if b == nil {
		return Served{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok = b.names[name]
	return s, ok
}

// Count is how many names are in each state.
func (b *Book) Count() map[ServeState]int {
	out := map[ServeState]int{}
	if b == nil {
		return out
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.names {
		out[s.State]++
	}
	return out
}

// NotServed lists the names a handshake found not served, sorted.
func (b *Book) NotServed() []string {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	var out []string
	for name, s := range b.names {
		if s.State == ServeNotServed {
			out = append(out, name)
		}
	}
	b.mu.Unlock()
	sort.Strings(out)
	return out
}
