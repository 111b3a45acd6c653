package served

// The proxy watch: between uploads, a few TLS handshakes per discovery interval on the proxy's
// port, by SNI, so that a proxy that lost its certificates (a DFP restarted without its /certs
// volume binds 443 without TLS; one that lost a file presents another certificate) is noticed
// within one interval, at a cost that does not grow with the number of names. What to sample,
// what a handshake means, and when it is worth reading DFP's whole list are decided here.

import (
	"sort"
	"time"
)

const (
	// WatchVisitWithin is how long the watch takes to visit every name, when the sample per
	// interval allows it (see WatchSize).
	WatchVisitWithin = 15 * time.Minute
	// WatchMinSample and WatchMaxSample bound the handshakes per interval.
	WatchMinSample = 8
	WatchMaxSample = 256
)

// WatchSize is how many names one watch round checks: enough to visit all names within
// WatchVisitWithin, between WatchMinSample and WatchMaxSample, never more than there are.
func WatchSize(names int, interval time.Duration) int {
	if names <= 0 || interval <= 0 {
		return 0
	}
	rounds := int(WatchVisitWithin / interval)
	k := names
	if rounds > 1 {
		k = (names + rounds - 1) / rounds
	}
	k = max(min(k, WatchMaxSample), WatchMinSample)
	return min(k, names)
}

// Sample picks k names from candidates, in name order, starting after the name the previous
// round ended on (after; "" at first) and wrapping around, so that rounds visit every name in
// turn even as names come and go. It returns the names and the new cursor.
func Sample(candidates []string, after string, k int) (picked []string, cursor string) {
	if k <= 0 || len(candidates) == 0 {
		return nil, after
	}
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	start := sort.SearchStrings(sorted, after)
	if start < len(sorted) && sorted[start] == after {
		start++
	}
	for i := 0; i < min(k, len(sorted)); i++ {
		picked = append(picked, sorted[(start+i)%len(sorted)])
	}
	return picked, picked[len(picked)-1]
}

// Watched reads one watch handshake: err from the handshake, got the fingerprint the proxy
// presented, want the newest one known for the name. A failed handshake counts as not served:
// a client gets no certificate either (DFP binds 443 without TLS while its /certs is empty).
func Watched(err error, got, want string) (State, string) {
	switch {
	case err != nil:
		return NotServed, "no TLS handshake on the proxy's port: " + err.Error()
	case got == want:
		return Served, ""
	}
	return NotServed, "the proxy presents another certificate for the name (DFP lost its file?)"
}

// WatchReconcile says whether a watch round is worth reading DFP's whole certificate list now: a
// name went from anything else to not served (lost), and either no round asked since a name was
// last served again (restored: a new loss) or the last ask is holdoff old. A proxy that stays
// broken, where nothing comes back, is listed at most once per holdoff, not every round.
func WatchReconcile(lost int, lastAsked, restored, now time.Time, holdoff time.Duration) bool {
	return lost > 0 && (lastAsked.IsZero() || restored.After(lastAsked) || now.Sub(lastAsked) >= holdoff)
}
