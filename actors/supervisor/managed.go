package supervisor

import (
	"sort"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Managed is the set of names the supervisor runs a certificate actor for, shared with status and
// /metrics so that a name is listed from the moment it is managed, before anything is stored for
// it. Safe for concurrent use: the supervisor writes, readers copy.
type Managed struct {
	mu    sync.Mutex
	names []string
}

// NewManaged returns an empty set.
func NewManaged() *Managed { return &Managed{} }

func (m *Managed) set(certs map[string]*actor.PID) {
	if m == nil {
		return
	}
	names := make([]string, 0, len(certs))
	for name := range certs {
		names = append(names, name)
	}
	sort.Strings(names)
	m.mu.Lock()
	m.names = names
	m.mu.Unlock()
}

// Names is the managed names, sorted.
func (m *Managed) Names() []string {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.names
}
