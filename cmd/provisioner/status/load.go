package status

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/supervisor"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

// Reading the report: from the running service's actors and the store (LoadLive), or from the
// store alone (Load).

// Load builds the report from st alone at now; cache (nil for none) keeps parsed certificates
// across calls. It takes no lock and writes nothing, so it is safe beside the running service.
func Load(st *store.Store, cfg config.Config, now time.Time, cache *Cache) (StatusReport, error) {
	return LoadLive(st, cfg, now, cache, nil, nil)
}

// LoadLive is Load for the running service: a name its actors hold (live) is reported as they
// last saw it, with no read of its bundle or state; the store gives the others, the ledger and
// the last-seen record (a few reads, whatever the number of names); managed are names listed
// whatever the store holds for them (the supervisor's, from the moment they are known).
func LoadLive(st *store.Store, cfg config.Config, now time.Time, cache *Cache, live map[string]certificate.LiveName, managed []string) (StatusReport, error) {
	table := cfg.Limits
	names, err := st.NamesWithState()
	if err != nil {
		return StatusReport{}, err
	}
	presence, err := supervisor.LoadPresence(st.Presence(), nil, now)
	if err != nil {
		presence = &supervisor.Presence{LastSeen: map[string]time.Time{}} // unreadable: shown as the service reads it
	}
	lastSeen := presence.LastSeen
	ledger, err := LoadLedger(st)
	if err != nil {
		return StatusReport{}, err
	}
	// Names without a certificate (yet, or never: a failing one) are known from when DFP last
	// listed them and from the ledger's bookings.
	for name := range lastSeen {
		names = append(names, name)
	}
	for name := range ledger.Reservations {
		names = append(names, name)
	}
	names = append(names, managed...)
	slices.Sort(names)
	names = slices.Compact(names)
	var stored []StoredName
	seen := map[string]bool{}
	for _, name := range names {
		n := StoredName{Name: name, Gone: presence.Gone(name, now, cfg.RemovedGrace)}
		if l, ok := live[name]; ok {
			n.Summary, n.State = l.Certificate, l.State
			stored = append(stored, n)
			continue
		}
		if pem, err := st.LoadBundle(name); err == nil {
			if b, err := cache.parse(pem); err == nil {
				n.Bundle = b
				sum := sha256.Sum256(pem)
				seen[string(sum[:])] = true
			}
		}
		n.State, _ = st.LoadState(name) // a corrupt state shows as a fresh one, as the service reads it
		stored = append(stored, n)
	}
	cache.retain(seen)
	return BuildStatus(store.CAKey(cfg.DirectoryURL), stored, ledger, table, now), nil
}

// LoadLedger reads the rate-limit ledger from st (empty when there is none yet).
func LoadLedger(st *store.Store) (ratelimiter.Ledger, error) {
	var ledger ratelimiter.Ledger
	data, err := st.Ledger().Load()
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ledger, nil
	case err != nil:
		return ledger, err
	}
	if err := json.Unmarshal(data, &ledger); err != nil {
		return ledger, fmt.Errorf("rate-limit ledger %s is unreadable: %w", st.Ledger(), err)
	}
	return ledger, nil
}
