// Package status is the read model behind "provisioner status" and the state gauges of /metrics:
// each name's state and the rate limits' plan, built from the store with the rules the actors use.
package status

import (
	"slices"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// The states a name can be in, in the order trouble is shown: the soonest trouble first.
const (
	StatePaused    = "paused"     // the CA paused it; an operator must unpause and retry-now
	StateNotServed = "not_served" // valid, but a handshake found the proxy not presenting it
	StateFailing   = "failing"    // its last attempts failed; next_attempt is the retry
	StateDeferred  = "deferred"   // the rate limits book its order later
	StateWaiting   = "waiting"    // no usable certificate, or due: an order comes soon
	StateRenewing  = "renewing"   // an order is granted and under way
	StateValid     = "valid"      // served, and not due before renew_at
	StateRemoved   = "removed"    // absent from DFP past REMOVED_GRACE: no longer renewed
)

var stateOrder = []string{StatePaused, StateNotServed, StateFailing, StateDeferred, StateWaiting, StateRenewing, StateValid, StateRemoved}

// NameStatus is one row of "provisioner status".
type NameStatus struct {
	Name          string    `json:"name"`
	State         string    `json:"state"`
	NotAfter      time.Time `json:"not_after,omitzero"`
	NotBefore     time.Time `json:"not_before,omitzero"`
	RenewAt       time.Time `json:"renew_at,omitzero"`
	RenewSource   string    `json:"renew_source,omitempty"` // "ari" (the CA's window) or "lifetime"
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
	Failures      int       `json:"failures"`
	LastError     string    `json:"last_error,omitempty"`
	Limit         string    `json:"limit,omitempty"` // the limit that defers it
	DeferredUntil time.Time `json:"deferred_until,omitzero"`
	// What the proxy serves, from the running service (empty when read from the store alone):
	// stored, held, queued, uploaded, served or not_served (see served.State).
	Served     string    `json:"served,omitempty"`
	LastServed time.Time `json:"last_served,omitzero"`
	ServedWhy  string    `json:"served_why,omitempty"`
}

// BucketStatus is one rate-limit bucket that is not full, and the names booked behind it.
type BucketStatus struct {
	Bucket     string       `json:"bucket"`
	Limit      string       `json:"limit"`
	Capacity   int          `json:"capacity"`
	TokensLeft int          `json:"tokens_left"`
	NextToken  time.Time    `json:"next_token,omitzero"`
	FullAt     time.Time    `json:"full_at"`
	HeldUntil  time.Time    `json:"held_until,omitzero"` // the CA said so
	Queued     []QueuedName `json:"queued,omitempty"`
}

// QueuedName is a name whose order is booked for At.
type QueuedName struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// StatusReport is "provisioner status": every name, then the plan of the rate limits.
type StatusReport struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Source is where the report comes from: the running service (which knows what the proxy
	// serves) or the store alone.
	Source  string         `json:"source"`
	CA      string         `json:"ca"`
	Names   []NameStatus   `json:"names"`
	Buckets []BucketStatus `json:"buckets"`
}

// The sources of a report.
const (
	SourceService = "service"
	SourceStore   = "store"
)

// StoredName is what is known of one name: its certificate as a summary (from the running
// service's actors) or as a bundle (from the store; nil: none usable), its state, and whether it
// is absent from DFP past REMOVED_GRACE.
type StoredName struct {
	Name    string
	Summary *schedule.Summary // wins over Bundle when set
	Bundle  *bundle.Bundle
	State   store.State
	Gone    bool
}

// BuildStatus is the report for names and ledger at now. It is plain: LoadStatus reads DATA_DIR.
func BuildStatus(ca string, names []StoredName, ledger ratelimiter.Ledger, table limits.Table, now time.Time) StatusReport {
	r := StatusReport{GeneratedAt: now, CA: ca, Names: []NameStatus{}, Buckets: []BucketStatus{}}
	for _, n := range names {
		row := NameStatus{Name: n.Name, Failures: n.State.Failures, LastError: oneLine(n.State.LastError), NextAttempt: n.State.NextAttempt}
		sum := n.Summary
		if sum == nil && n.Bundle != nil {
			s := schedule.SummaryOf(n.Bundle, n.State.ARI)
			sum = &s
		}
		if sum != nil {
			row.NotAfter, row.NotBefore, row.RenewAt, row.RenewSource = sum.NotAfter, sum.NotBefore, sum.RenewAt, "lifetime"
			if sum.ByARI {
				row.RenewSource = "ari"
			}
		}
		res, booked := ledger.Reservations[n.Name]
		switch {
		case n.Gone:
			row.State = StateRemoved
		case n.State.PausedURL != "":
			row.State, row.LastError = StatePaused, "unpause at "+n.State.PausedURL
		case booked && res.Granted:
			row.State = StateRenewing
		case booked && res.At.After(now):
			row.State, row.DeferredUntil, row.Limit = StateDeferred, res.At, string(ratelimiter.BlockingLimit(res, ledger, table, now))
		case n.State.Failures > 0:
			row.State = StateFailing
		case sum == nil || !now.Before(row.RenewAt) || !now.Before(row.NotAfter):
			row.State = StateWaiting
		default:
			row.State = StateValid
		}
		r.Names = append(r.Names, row)
	}
	sortNames(r.Names)
	r.Buckets = buckets(ledger, table, now)
	return r
}

// buckets lists the buckets that are not full at now, fullest trouble first, with the names booked
// behind each.
func buckets(ledger ratelimiter.Ledger, table limits.Table, now time.Time) []BucketStatus {
	out := []BucketStatus{}
	for key, tat := range ledger.TAT {
		lim, ok := limitOfKey(key, table)
		if !ok || !tat.After(now) {
			continue
		}
		left, next := ratelimiter.TokensLeft(lim, tat, now)
		b := BucketStatus{Bucket: key, Limit: string(lim.Name), Capacity: lim.Capacity, TokensLeft: left,
			NextToken: next, FullAt: tat, HeldUntil: ledger.Holds[key]}
		for name, res := range ledger.Reservations {
			if !res.Granted && res.At.After(now) && slices.Contains(res.Buckets, key) {
				b.Queued = append(b.Queued, QueuedName{Name: name, At: res.At})
			}
		}
		slices.SortFunc(b.Queued, func(x, y QueuedName) int { return x.At.Compare(y.At) })
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b BucketStatus) int {
		if d := a.TokensLeft - b.TokensLeft; d != 0 {
			return d
		}
		return strings.Compare(a.Bucket, b.Bucket)
	})
	return out
}

func limitOfKey(key string, table limits.Table) (limits.Limit, bool) {
	return table.Named(limits.LimitOfKey(key))
}

// oneLine joins a CA's error, which spans lines, into one line, whole.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// shorten cuts s to at most n bytes, for the table (--json keeps it whole).
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// WithServed adds what the running service knows of the proxy (book) to each name with a
// certificate; a valid name the proxy was found not serving moves to StateNotServed, first in
// line after a pause. The order is kept otherwise.
func (r *StatusReport) WithServed(book *served.Book) {
	if book == nil {
		return
	}
	for i := range r.Names {
		n := &r.Names[i]
		s, ok := book.Of(n.Name)
		if !ok || n.State == StateRemoved {
			continue
		}
		n.Served, n.LastServed, n.ServedWhy = string(s.State), s.LastServed, s.Why
		if s.State == served.NotServed && (n.State == StateValid || n.State == StateRenewing) {
			n.State = StateNotServed
		}
	}
	sortNames(r.Names)
}

// sortNames puts trouble first (stateOrder), then the soonest expiry, then by name.
func sortNames(names []NameStatus) {
	slices.SortStableFunc(names, func(a, b NameStatus) int {
		if d := slices.Index(stateOrder, a.State) - slices.Index(stateOrder, b.State); d != 0 {
			return d
		}
		if d := a.NotAfter.Compare(b.NotAfter); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
}
