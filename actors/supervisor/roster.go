package supervisor

import "slices"

// Which names are managed is decided here, and only here: Roster is the whole rule, the actor
// applies its plan (spawns, stops, logs).

// Source is where a list of names comes from.
type Source int

const (
	// FromStore is the start's list of stored certificates: names removed before the start stay
	// removed (discovery brings them back if DFP lists them again), and nothing is stopped.
	FromStore Source = iota
	// FromDFP is a discovery poll's list (DOMAINS included, EXCLUDE_DOMAINS not yet applied).
	FromDFP
	// FromDFPAuthoritative is a poll's list that may remove names: not empty, so not a DFP that
	// just restarted and forgot its services.
	FromDFPAuthoritative
)

// RosterRules are the configuration's part of the decision.
type RosterRules struct {
	Excluded func(name string) bool // EXCLUDE_DOMAINS; nil excludes nothing
	Gone     func(name string) bool // absent from DFP past REMOVED_GRACE
	MaxNames int                    // MAX_NAMES; 0: no cap
}

// RosterPlan is what the supervisor does with one list.
type RosterPlan struct {
	Start    []string // names that get a certificate actor now, in the list's order
	Excluded []string // names excluded for the first time (logged once; their certificate is not renewed)
	Waiting  int      // names that wait because MaxNames are managed already
	Stop     []string // managed names whose actor stops: absent past the grace period
}

// Roster decides, for a list of names from src, which names get an actor and which stop, given
// the names managed now (the keys of managed) and those already excluded.
func Roster[V any](rules RosterRules, managed map[string]V, excluded map[string]bool, names []string, src Source) RosterPlan {
	var p RosterPlan
	count := len(managed)
	listed := make(map[string]bool, len(names))
	decided := map[string]bool{} // names of this list already started or excluded
	for _, n := range names {
		listed[n] = true
		_, isManaged := managed[n]
		switch {
		case isManaged || excluded[n] || decided[n]:
		case src == FromStore && rules.Gone != nil && rules.Gone(n):
		case rules.Excluded != nil && rules.Excluded(n):
			decided[n] = true
			p.Excluded = append(p.Excluded, n)
		case rules.MaxNames > 0 && count >= rules.MaxNames:
			p.Waiting++
		default:
			decided[n] = true
			p.Start = append(p.Start, n)
			count++
		}
	}
	if src == FromDFPAuthoritative && rules.Gone != nil {
		for n := range managed {
			if !listed[n] && rules.Gone(n) {
				p.Stop = append(p.Stop, n)
			}
		}
		slices.Sort(p.Stop)
	}
	return p
}
