package uploader

import "sync"

// Verdicts is what the serve check last found per name, shared with /metrics (ready means valid
// and served). Safe for concurrent use: the uploader writes, scrapes read.
type Verdicts struct {
	mu        sync.Mutex
	notServed map[string]bool
}

// NewVerdicts returns an empty set: every name counts as served until a check says otherwise.
func NewVerdicts() *Verdicts { return &Verdicts{notServed: map[string]bool{}} }

// Record sets name's verdict.
func (v *Verdicts) Record(name string, notServed bool) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if notServed {
		v.notServed[name] = true
	} else {
		delete(v.notServed, name)
	}
}

// NotServed reports whether the last check of name found another certificate served.
func (v *Verdicts) NotServed(name string) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.notServed[name]
}
