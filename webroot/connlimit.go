package webroot

import (
	"net"
	"net/http"
	"sync"
)

// maxConns bounds the responder's open connections: each holds a goroutine and buffers, and the
// port faces the Internet. 15,000 idle keep-alive connections once took 280 MB.
const maxConns = 1024

// connLimit keeps at most max connections open. When it is full, a new connection takes the place
// of an idle keep-alive one (closed), so the CA's validation requests are still answered while
// idle clients fill the table; only when every connection is busy is a new one refused.
type connLimit struct {
	mu   sync.Mutex
	max  int
	open map[net.Conn]http.ConnState
}

func newConnLimit(max int) *connLimit {
	return &connLimit{max: max, open: map[net.Conn]http.ConnState{}}
}

// admit takes c in, and returns an idle connection to close for it (nil: none), or ok false
// when c must be refused.
func (l *connLimit) admit(c net.Conn) (evict net.Conn, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.open) >= l.max {
		for idle, state := range l.open {
			if state == http.StateIdle {
				evict = idle
				break
			}
		}
		if evict == nil {
			return nil, false
		}
		delete(l.open, evict)
	}
	l.open[c] = http.StateNew
	return evict, true
}

// track is the server's ConnState hook.
func (l *connLimit) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, known := l.open[c]; !known {
		return
	}
	if state == http.StateClosed || state == http.StateHijacked {
		delete(l.open, c)
		return
	}
	l.open[c] = state
}

// len is the number of connections open.
func (l *connLimit) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}

// limitedListener applies a connLimit to what it accepts.
type limitedListener struct {
	net.Listener
	limit *connLimit
}

func (l limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		evict, ok := l.limit.admit(c)
		if !ok {
			_ = c.Close() // every connection busy: this one waits for none
			continue
		}
		if evict != nil {
			_ = evict.Close()
		}
		return c, nil
	}
}
