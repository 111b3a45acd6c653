package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
)

// presenceSaveEvery bounds how often last-seen times are written: against a grace of days, a
// few minutes' staleness after a crash costs nothing.
const presenceSaveEvery = 10 * time.Minute

// Presence remembers when each name was last listed, on disk, so that a restart does not reset a
// removed name's grace period (nor start it: a name with no record counts as seen at start).
type Presence struct {
	blob     store.Blob
	LastSeen map[string]time.Time `json:"last_seen"`
	saved    time.Time
	dirty    bool
}

// LoadPresence reads the record; names is everything the store holds, which counts as seen now
// when it has no record.
func LoadPresence(blob store.Blob, names []string, now time.Time) (*Presence, error) {
	p := &Presence{blob: blob, LastSeen: map[string]time.Time{}}
	data, err := blob.Load()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("presence: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(data, p); err != nil {
			return nil, fmt.Errorf("presence: %s is corrupt: %w", blob, err)
		}
	}
	for _, n := range names {
		if _, ok := p.LastSeen[n]; !ok {
			p.LastSeen[n], p.dirty = now, true
		}
	}
	return p, nil
}

// Seen records that names are listed now.
func (p *Presence) Seen(names []string, now time.Time) {
	for _, n := range names {
		p.LastSeen[n] = now
	}
	p.dirty = p.dirty || len(names) > 0
}

// Prune forgets names gone longer than grace that have no stored certificate: nothing is kept for
// them, and nothing will be, so the record does not grow with every name DFP ever listed. Names
// with a stored certificate keep their record, or the next start would count them as seen.
func (p *Presence) Prune(stored []string, now time.Time, grace time.Duration) {
	keep := make(map[string]bool, len(stored))
	for _, n := range stored {
		keep[n] = true
	}
	for n := range p.LastSeen {
		if !keep[n] && p.Gone(n, now, grace) {
			delete(p.LastSeen, n)
			p.dirty = true
		}
	}
}

// Gone reports whether name has been absent longer than grace.
func (p *Presence) Gone(name string, now time.Time, grace time.Duration) bool {
	seen, ok := p.LastSeen[name]
	return ok && now.Sub(seen) > grace
}

// Due returns the record to write when it changed and the last write is old enough (or force),
// and counts it as written; nil when no write is due. A write that then fails calls Unsaved.
func (p *Presence) Due(now time.Time, force bool) []byte {
	if !p.dirty || (!force && now.Sub(p.saved) < presenceSaveEvery) {
		return nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil // maps of times always encode
	}
	p.saved, p.dirty = now, false
	return data
}

// Unsaved says that the write Due asked for failed: the next poll tries again.
func (p *Presence) Unsaved() { p.saved, p.dirty = time.Time{}, true }

// Save writes the record, in the caller's goroutine, when Due says so.
func (p *Presence) Save(now time.Time, force bool) error {
	data := p.Due(now, force)
	if data == nil {
		return nil
	}
	if err := p.blob.Save(data); err != nil {
		p.Unsaved()
		return fmt.Errorf("presence: %w", err)
	}
	return nil
}
